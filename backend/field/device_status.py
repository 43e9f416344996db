"""Is a device usable for check-in and capture? (issue 15 #10, R-REC-5)

A ``device_id`` on a check-in or a capture names the phone. A registered device that an
admin revoked (a lost or stolen phone) is refused everywhere, not only for manifests. Ids
that are not registered devices (phones that never registered a key send a free-text id)
are still accepted: registration is optional for online capture, as before.
"""

from __future__ import annotations

from uuid import UUID

from backend.core.errors import Forbidden
from backend.field.tables import Device


class DeviceRevoked(Forbidden):
    slug = "device-revoked"
    title = "This device has been revoked"


async def ensure_not_revoked(device_id: str) -> None:
    """Raise DeviceRevoked when ``device_id`` is a registered device that has been revoked."""
    try:
        registered_id = UUID(device_id)
    except ValueError:
        return  # a free-text id is never a registered device
    if await Device.exists().where((Device.id == registered_id) & Device.revoked_at.is_not_null()):
        raise DeviceRevoked(f"device {device_id} was revoked; check-ins and captures from it are refused", field="device_id")
