"""A complaint in the demo (R-CMP, issue 17): 综合行政执法局 publishes its complaint channels,
a resident complains yesterday afternoon about street-stall enforcement, and this morning the
supervisor 刘 accepts it and names 马 as handler — so the complaint lists are not empty.

Written after the history (which ends two days ago) and before today's cases, in time order.
"""

from __future__ import annotations

from backend.demo.common import at, local, principal, user_id
from backend.org import schemas as org_schemas
from backend.org import service as org_service
from backend.org.tables import Unit
from backend.oversight import channels, complaints, schemas
from backend.oversight.tables import Complaint, ComplaintChannel

SUBJECT = "占道经营执法时态度粗暴"


async def ensure_complaint() -> None:
    admin = await principal("zhou")
    if not await ComplaintChannel.exists().where(ComplaintChannel.agency == admin.agency_id):
        with at(local(-1, 9)):
            unit = await Unit.select(Unit.id).where((Unit.agency == admin.agency_id) & (Unit.kind == "complaint")).first()
            unit_id = (
                unit["id"]
                if unit
                else (
                    await org_service.create_unit(principal=admin, data=org_schemas.UnitIn(name="投诉受理科", kind="complaint"))
                ).id
            )
            channel = schemas.ChannelIn(
                unit_id=unit_id,
                phone="0359-7654321",
                email="tousu@xinjiang-zhifa.example.cn",
                postal_address="新绛县龙兴镇政府街1号 综合行政执法局投诉受理科",
            )
            await channels.publish_channel(principal=admin, data=channel)
    if await Complaint.exists().where((Complaint.agency == admin.agency_id) & (Complaint.subject == SUBJECT)):
        return
    with at(local(-1, 15)):
        receipt = await complaints.submit(
            data=schemas.ComplaintIn(
                agency_id=admin.agency_id,
                subject=SUBJECT,
                content="昨天上午在鼓楼街，两名执法人员清理摊位时推搡摊主并扣走电子秤，未出示证件。",
                complainant_name="某居民",
                complainant_contact="138****0000",
                alleges_officer_fault=True,
                alleged_officer="两名执法人员（姓名不详）",
            )
        )
    row = await Complaint.select(Complaint.id).where(Complaint.tracking_no == receipt.tracking_no).first()
    assert row is not None
    with at(local(0, 8, 10)):
        await complaints.accept(
            principal=await principal("liu"), complaint_id=row["id"], data=schemas.AcceptIn(handler_id=await user_id("ma"))
        )
