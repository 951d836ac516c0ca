"""The kinds of message the product sends, with the variables each one provides.

A template for a kind may use only the variables its kind declares (checked when the template is saved); a
message of that kind must be given all of them (checked when it is queued). Other apps add kinds here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from .choices import Purpose

COMMON = {
    "customer_name": "张伟",
    "greeting": "张先生",
    "store_name": "广州天河店",
    "store_phone": "020-38888888",
}
VEHICLE = {"plate": "粤B12345", "model": "丰田 凯美瑞"}
VISIT = {"date": "2026-11-25", "time": "10:30", "advisor_name": "林晓燕"}


@dataclass(frozen=True)
class MessageKind:
    code: str
    label: Promise | str
    purpose: str
    variables: dict[str, str] = field(default_factory=dict)  # name → sample value for previews
    default_text: dict[str, str] = field(default_factory=dict)  # language → built-in text (until a manager edits it)


def _kind(code: str, label: Promise, purpose: str, *groups: dict[str, str], text: tuple[str, str], **extra: str) -> MessageKind:
    variables: dict[str, str] = dict(COMMON)
    for group in groups:
        variables.update(group)
    variables.update(extra)
    return MessageKind(
        code=code, label=label, purpose=purpose, variables=variables, default_text={"zh-hans": text[0], "en": text[1]}
    )


KINDS: dict[str, MessageKind] = {
    k.code: k
    for k in [
        _kind("customer.welcome", _("Welcome to the store"), Purpose.SERVICE, text=("{{ greeting }}，欢迎成为{{ store_name }}的客户！服务热线 {{ store_phone }}。", "Dear {{ greeting }}, welcome to {{ store_name }}! Call us on {{ store_phone }}.")),
        _kind("appointment.confirmation", _("Appointment confirmation"), Purpose.SERVICE, VEHICLE, VISIT,
              duration="1.5", directions="天河路 1 号，地下停车场 B2", materials="保养手册、行驶证", link="https://example.invalid/a/1", text=("{{ greeting }}，您的{{ plate }}已预约 {{ date }} {{ time }} 到{{ store_name }}，服务顾问{{ advisor_name }}，预计{{ duration }}小时。请携带：{{ materials }}。路线：{{ directions }}。详情 {{ link }}", "Dear {{ greeting }}, {{ plate }} is booked at {{ store_name }} on {{ date }} {{ time }} with {{ advisor_name }}, about {{ duration }} h. Please bring: {{ materials }}. Directions: {{ directions }}. Details: {{ link }}")),
        _kind("appointment.reminder", _("Appointment reminder"), Purpose.SERVICE, VEHICLE, VISIT, link="https://example.invalid/a/1", text=("{{ greeting }}，提醒您：{{ date }} {{ time }} {{ plate }}在{{ store_name }}的预约，服务顾问{{ advisor_name }}。改期 {{ link }}", "Dear {{ greeting }}, a reminder of your appointment for {{ plate }} at {{ store_name }} on {{ date }} {{ time }} with {{ advisor_name }}. Change it: {{ link }}")),
        _kind("appointment.changed", _("Appointment rescheduled or cancelled"), Purpose.SERVICE, VEHICLE, VISIT,
              change="改期", link="https://example.invalid/a/1", text=("{{ greeting }}，您{{ plate }}的预约已{{ change }}：{{ date }} {{ time }}，{{ store_name }}。详情 {{ link }}", "Dear {{ greeting }}, your appointment for {{ plate }} was changed ({{ change }}): {{ date }} {{ time }} at {{ store_name }}. Details: {{ link }}")),
        _kind("repair.progress", _("Repair progress"), Purpose.SERVICE, VEHICLE, progress="机油更换中，位于 3 号工位",
              link="https://example.invalid/r/1", text=("{{ greeting }}，您的{{ plate }}维修进度：{{ progress }}。查看 {{ link }}", "Dear {{ greeting }}, your {{ plate }}: {{ progress }}. Follow it: {{ link }}")),
        _kind("repair.ready", _("Car ready for collection"), Purpose.SERVICE, VEHICLE, VISIT, amount="1,229.00",
              link="https://example.invalid/r/1", text=("{{ greeting }}，您的{{ plate }}已完工，可于{{ store_name }}提车，费用 ¥{{ amount }}。服务顾问{{ advisor_name }}。{{ link }}", "Dear {{ greeting }}, your {{ plate }} is ready for collection at {{ store_name }}; amount CNY {{ amount }}. Advisor: {{ advisor_name }}. {{ link }}")),
        _kind("estimate.approval", _("Estimate to approve"), Purpose.SERVICE, VEHICLE, amount="2,380.00",
              link="https://example.invalid/e/1", text=("{{ greeting }}，您的{{ plate }}维修报价 ¥{{ amount }}，请点击确认：{{ link }}", "Dear {{ greeting }}, the estimate for {{ plate }} is CNY {{ amount }}; please review and approve: {{ link }}")),
        _kind("followup.survey", _("After-service survey"), Purpose.SERVICE, VEHICLE, VISIT, link="https://example.invalid/s/1", text=("{{ greeting }}，感谢您 {{ date }} 光临{{ store_name }}，请为本次服务评分：{{ link }}", "Dear {{ greeting }}, thank you for visiting {{ store_name }} on {{ date }}. Please rate our service: {{ link }}")),
        _kind("maintenance.due", _("Maintenance due"), Purpose.MARKETING, VEHICLE, due_date="2026-12-20", due_km="10,000",
              link="https://example.invalid/b/1", text=("{{ greeting }}，您的{{ plate }}预计 {{ due_date }} 或 {{ due_km }} 公里需要保养，点击预约：{{ link }}", "Dear {{ greeting }}, your {{ plate }} is due for maintenance around {{ due_date }} or {{ due_km }} km. Book: {{ link }}")),
        _kind("campaign.offer", _("Offer / campaign"), Purpose.MARKETING, offer="冬季电瓶免费检测", link="https://example.invalid/c/1", text=("{{ greeting }}，{{ store_name }}为您准备了：{{ offer }}。详情 {{ link }}", "Dear {{ greeting }}, {{ store_name }} has an offer for you: {{ offer }}. Details: {{ link }}")),
        _kind("staff.task", _("Task for staff"), Purpose.SERVICE, title="回访客户", details="请致电客户了解满意度", text=("{{ title }}：{{ details }}", "{{ title }}: {{ details }}")),
        _kind("reception.handover_sign", _("Vehicle handover sheet to sign"), Purpose.SERVICE, VEHICLE, link="https://example.invalid/h/1", text=("{{ greeting }}，请核对您{{ plate }}的车辆交接单并签字确认：{{ link }}", "Dear {{ greeting }}, please check the handover sheet of {{ plate }} and sign it: {{ link }}")),
    ]
}


def get_kind(code: str) -> MessageKind:
    return KINDS[code]
