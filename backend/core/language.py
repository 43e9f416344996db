"""Problem titles in the officer's language (zh-CN by default, en available).

The ``type`` slug and field names never change with language; only the human ``title`` and
``detail`` do. Details are written by the services in English; their zh-CN form comes from the
catalogue of templates in ``backend/core/details_zh.py`` (``backend.core.details``).
"""

from __future__ import annotations

ZH_CN = "zh-CN"
EN = "en"

TITLES_ZH: dict[str, str] = {
    "bad-request": "请求有误",
    "approver-is-reviewer": "审批人不得与法制审核人为同一人",
    "benchmark-not-usable": "裁量基准版本未公布或未生效",
    "case-stage-conflict": "案件当前阶段不允许此操作",
    "certificate-not-valid": "执法证件未通过核验",
    "client-disconnected": "客户端在请求内容传完前断开",
    "coercion-reason-missing": "采取强制措施须说明不足以采用较轻手段的理由",
    "decision-already-issued": "决定已作出，不得再修改",
    "draft-changed": "草稿在您查看后已被修改",
    "hearing-pending": "当事人申请的听证尚未举行",
    "not-a-legal-reviewer": "仅本机关法制审核机构指定人员可进行法制审核",
    "object-store-unavailable": "证据存储暂不可用，请稍后重试",
    "penalty-outside-statutory-range": "处罚种类或幅度超出法定范围",
    "presigned-link-unavailable": "当前存储不支持临时下载链接，请直接流式读取",
    "evidence-bytes-changed": "证据的存储内容已与记录的哈希值不符",
    "validation-error": "请求内容不符合要求",
    "invalid-input": "输入无效",
    "unauthorized": "需要登录",
    "forbidden": "无权操作",
    "not-found": "未找到",
    "method-not-allowed": "不支持该方法",
    "precondition-failed": "前提条件不满足",
    "http-error": "HTTP 请求错误",
    "conflict": "与当前状态冲突",
    "duplicate": "已存在",
    "illegal-transition": "不允许的状态变更",
    "payload-too-large": "内容过大",
    "unsupported-media-type": "不支持的文件类型",
    "range-not-satisfiable": "请求范围无效",
    "too-many-requests": "请求过于频繁",
    "internal-error": "服务器内部错误",
    "service-unavailable": "服务暂不可用",
    "database-unavailable": "数据库暂不可用，请稍后重试",
    "idempotency-key-reused": "幂等键已用于其他请求",
    "request-in-progress": "相同请求正在处理",
    "certificate-suspended": "执法证件已暂扣",
    "certificate-revoked": "执法证件已注销",
    "certificate-expired": "执法证件已过期",
    "certificate-not-yet-valid": "执法证件尚未生效",
    "certificate-not-found": "未持有有效执法证件",
    "certificate-agency-mismatch": "执法证件不属于执法主体",
    "certificate-domain-not-covered": "执法证件不涵盖该执法领域",
    "certificate-exam-not-passed": "未通过公共法律知识考试",
    "recusal-missing": "尚未作出回避声明",
    "recusal-already-declared": "已作出回避声明",
    "action-start-blocked": "尚不具备开始执法的条件",
    "video-coverage-incomplete": "全过程音像记录不完整",
    "case-archived": "案件已归档",
    "stage-record-missing": "本阶段缺少记录",
    "matter-outside-powers": "事项不在权责清单或委托范围内",
    "agency-not-confirmed": "执法主体资格未确认",
    "not-assigned": "未承办本案",
    "hash-mismatch": "文件哈希值不一致",
    "upload-hash-mismatch": "文件哈希值不一致",
    "disallowed-media-type": "不允许的文件类型",
    "legal-review-required": "重大执法决定须经法制审核",
    "legal-qualification-missing": "审核人员未取得法律职业资格",
    "notice-not-served": "尚未送达告知书",
    "notice-outdated": "告知后决定草案加重，须重新告知",
    "decision-issue-blocked": "尚不具备作出决定的条件",
    "decision-review-blocked": "尚不具备进行法制审核的条件",
    "answer-period-running": "陈述申辩期限未满",
    "separation-of-functions": "违反职能分离要求",
    "deviation-reason-required": "超出裁量阶次须说明理由",
    "benchmark-tiers-insufficient": "裁量阶次不少于三档",
    # oversight (backend/oversight/errors.py, rules.py)
    "complaints-not-open": "该机关尚未公布投诉渠道，暂不受理投诉",
    "complaint-state": "投诉当前状态不允许此操作",
    "due-change-needs-head": "延长答复期限须经行政执法机关负责人批准",
    "justice-bureau-only": "仅司法行政部门管理员可执行此操作",
    "not-complaint-handler": "您不是该投诉的承办人",
    "dispute-state": "管辖争议当前状态不允许此操作",
    "county-government-only": "仅县人民政府可以决定或指定管辖",
    "device-revoked": "设备已被注销",
    "manifest-signature-invalid": "采集清单签名无效",
    # field integrity (issue 14: check-in before capture, entrustment authority, rules of the field)
    "not-checked-in": "未在本次执法行动中签到成功，不得采集证据",
    "domain-not-covered": "超出受委托的执法权限或委托期限",
    "recusal-not-declared": "承办人须在指派前作出回避声明",
    "execution-basis-missing": "强制执行须有已作出、已送达且期限届满的决定",
    "case-close-blocked": "尚不具备结案条件",
    "certificate-not-shown": "执法人员尚未记录出示执法证件",
    # tus resumable uploads (evidence/uploads/errors.py)
    "invalid-tus-header": "tus 请求头缺失或格式错误",
    "invalid-upload-metadata": "上传元数据缺少字段或格式错误",
    "tus-version-unsupported": "不支持的 Tus-Resumable 版本",
    "checksum-algorithm-unsupported": "不支持的分块校验算法",
    "checksum-mismatch": "分块校验值不一致",
    "tus-content-type": "分块须以 application/offset+octet-stream 发送",
    "upload-not-found": "上传不存在",
    "upload-expired": "上传已过期或已终止",
    "upload-offset-mismatch": "上传偏移量不一致",
    "upload-locked": "另一请求正在写入该上传",
    "upload-finished": "上传已完成",
    "upload-too-large": "文件超过允许的大小",
    "upload-length-exceeded": "内容超出声明的上传长度",
    "upload-chunk-too-large": "分块超过单次请求的上限",
    "open-upload-limit": "未完成的上传过多",
    "upload-quota-exceeded": "您未完成的上传占用空间已达上限",
    "staging-quota-exceeded": "暂存空间已满",
    "method-override-invalid": "X-HTTP-Method-Override 不是该地址支持的方法",
    "hash-state-unavailable": "无法继续计算文件哈希值，请重试",
    # the input policy (backend/core/inputs.py)
    "invalid-text": "文本含有不允许的字符",
    "datetime-out-of-range": "日期时间超出允许范围",
    "json-too-deep": "JSON 嵌套层级过深",
    "malformed-request": "请求格式错误",
}


def preferred_language(accept_language: str | None) -> str:
    """The first acceptable of zh/en by q-value; zh-CN when the header is absent or says neither."""
    best: tuple[float, str] | None = None
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip().lower()
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        language = ZH_CN if tag.startswith("zh") else EN if tag.startswith("en") else None
        if language and quality > 0 and (best is None or quality > best[0]):
            best = (quality - position * 1e-6, language)
    return best[1] if best else ZH_CN


def localised_title(slug: str, english: str, language: str) -> str:
    if language == ZH_CN:
        return TITLES_ZH.get(slug, english)
    return english
