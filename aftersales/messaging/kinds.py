"""The kinds of message the product sends, with the variables each one provides.

A template for a kind may use only the variables its kind declares (checked when the template is saved); a
message of that kind must be given all of them (checked when it is queued). Other apps add kinds here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

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
              duration="1.5", directions="天河路 1 号，地下停车场 B2", materials="保养手册、行驶证", link="https://example.invalid/a/1", text=("{{ greeting }}，您的{{ plate }}已预约 {{ date }} {{ time }} 到{{ store_name }}，服务顾问{{ advisor_name }}，预计{{ duration }}小时。请携带：{{ materials }}。路线：{{ directions }}。详情 {{ link }}", "{{ greeting }}, {{ plate }} booked: {{ store_name }}, {{ date }} {{ time }}, {{ advisor_name }}. Bring: {{ materials }}. {{ link }}")),
        _kind("appointment.reminder", _("Appointment reminder"), Purpose.SERVICE, VEHICLE, VISIT, link="https://example.invalid/a/1", text=("{{ greeting }}，提醒您：{{ date }} {{ time }} {{ plate }}在{{ store_name }}的预约，服务顾问{{ advisor_name }}。改期 {{ link }}", "{{ greeting }}, reminder: {{ plate }} at {{ store_name }} on {{ date }} {{ time }} with {{ advisor_name }}. Change: {{ link }}")),
        _kind("appointment.changed", _("Appointment rescheduled or cancelled"), Purpose.SERVICE, VEHICLE, VISIT,
              change="改期", link="https://example.invalid/a/1", text=("{{ greeting }}，您{{ plate }}的预约已{{ change }}：{{ date }} {{ time }}，{{ store_name }}。详情 {{ link }}", "{{ greeting }}, your booking for {{ plate }} is {{ change }}: {{ date }} {{ time }}, {{ store_name }}. {{ link }}")),
        _kind("repair.progress", _("Repair progress"), Purpose.SERVICE, VEHICLE, progress="机油更换中，位于 3 号工位",
              link="https://example.invalid/r/1", text=("{{ greeting }}，您的{{ plate }}维修进度：{{ progress }}。查看 {{ link }}", "Dear {{ greeting }}, your {{ plate }}: {{ progress }}. Follow it: {{ link }}")),
        _kind("repair.ready", _("Car ready for collection"), Purpose.SERVICE, VEHICLE, VISIT, amount="1,229.00",
              link="https://example.invalid/r/1", text=("{{ greeting }}，您的{{ plate }}已完工，可于{{ store_name }}提车，费用 ¥{{ amount }}。服务顾问{{ advisor_name }}。{{ link }}", "{{ greeting }}, your {{ plate }} is ready at {{ store_name }}. Amount: CNY {{ amount }}. Advisor: {{ advisor_name }}. {{ link }}")),
        _kind("estimate.approval", _("Estimate to approve"), Purpose.SERVICE, VEHICLE, amount="2,380.00",
              link="https://example.invalid/e/1", text=("{{ greeting }}，您的{{ plate }}维修报价 ¥{{ amount }}，请点击确认：{{ link }}", "Dear {{ greeting }}, the estimate for {{ plate }} is CNY {{ amount }}; please review and approve: {{ link }}")),
        _kind("followup.survey", _("After-service survey"), Purpose.SERVICE, VEHICLE, VISIT, link="https://example.invalid/s/1", text=("{{ greeting }}，感谢您 {{ date }} 光临{{ store_name }}，请为本次服务评分：{{ link }}", "Dear {{ greeting }}, thank you for visiting {{ store_name }} on {{ date }}. Please rate our service: {{ link }}")),
        _kind("maintenance.due", _("Maintenance due"), Purpose.SERVICE, VEHICLE, due_date="2026-12-20", due_km="10,000",
              link="https://example.invalid/b/1", text=("{{ greeting }}，您的{{ plate }}预计 {{ due_date }} 或 {{ due_km }} 公里需要保养，点击预约：{{ link }}", "{{ greeting }}, your {{ plate }} is due for a service around {{ due_date }} or {{ due_km }} km. Book: {{ link }}")),
        _kind("campaign.offer", _("Offer / campaign"), Purpose.MARKETING, offer="冬季电瓶免费检测", link="https://example.invalid/c/1", text=("{{ greeting }}，{{ store_name }}为您准备了：{{ offer }}。详情 {{ link }}", "{{ greeting }}, {{ store_name }} has an offer for you: {{ offer }}. {{ link }}")),
        _kind("staff.task", _("Task for staff"), Purpose.SERVICE, title="回访客户", details="请致电客户了解满意度", text=("{{ title }}：{{ details }}", "{{ title }}: {{ details }}")),
        _kind("reception.handover_sign", _("Vehicle handover sheet to sign"), Purpose.SERVICE, VEHICLE, link="https://example.invalid/h/1", text=("{{ greeting }}，请核对您{{ plate }}的车辆交接单并签字确认：{{ link }}", "Dear {{ greeting }}, please check the handover sheet of {{ plate }} and sign it: {{ link }}")),
        _kind("mobility.driver_on_the_way", _("Pickup: driver set off"), Purpose.SERVICE, VEHICLE, driver_name="王师傅", eta="10:25", text=("{{ greeting }}，{{ store_name }}取送车司机{{ driver_name }}已出发，预计 {{ eta }} 到达，来取您的{{ plate }}。", "{{ greeting }}, {{ store_name }} driver {{ driver_name }} is on the way for {{ plate }}, arriving about {{ eta }}.")),
        # roadside rescue (aftersales/rescue): the unit is sent, and again when its arrival slips
        _kind("rescue.dispatched", _("Rescue: unit on the way"), Purpose.SERVICE, VEHICLE, crew_name="伟", eta="10:25",
              link="https://example.invalid/app/rescue/1/", text=("{{ greeting }}，{{ store_name }}救援车已出发，救援人员{{ crew_name }}，预计 {{ eta }} 到达您的{{ plate }}所在位置。实时查看：{{ link }}", "{{ greeting }}, {{ store_name }} rescue ({{ crew_name }}) is on the way to {{ plate }}, ETA {{ eta }}. Live: {{ link }}")),
        _kind("rescue.eta_slipped", _("Rescue: arrival later than promised"), Purpose.SERVICE, VEHICLE, eta="10:40", minutes="10",
              link="https://example.invalid/app/rescue/1/", text=("{{ greeting }}，抱歉，{{ store_name }}救援车将晚到约 {{ minutes }} 分钟，现预计 {{ eta }} 到达。实时查看：{{ link }}", "{{ greeting }}, sorry: {{ store_name }} rescue will be about {{ minutes }} min later than promised, now arriving about {{ eta }}. Follow it live: {{ link }}")),
        # damage assessment (aftersales/assessments): the report and the owner's share to approve, by a signed link
        _kind("assessment.report", _("Damage assessment: report and share to approve"), Purpose.SERVICE, VEHICLE,
              insurer_amount="6,800.00", amount="1,200.00", link="https://example.invalid/da/1/", text=("{{ greeting }}，您{{ plate }}的定损报告已出：保险公司承担 ¥{{ insurer_amount }}，您自付 ¥{{ amount }}。请查看并确认：{{ link }}", "{{ greeting }}, damage report for {{ plate }}: insurer pays CNY {{ insurer_amount }}, your share CNY {{ amount }}. Approve: {{ link }}")),
        _kind("feedback.received", _("Feedback received"), Purpose.SERVICE, case_no="F1024", owner_name="林晓燕", text=("{{ greeting }}，{{ store_name }}已收到您的反馈（编号 {{ case_no }}），由{{ owner_name }}负责跟进，我们会尽快与您联系。", "Dear {{ greeting }}, {{ store_name }} has received your feedback (ref. {{ case_no }}); {{ owner_name }} will follow it up and contact you soon.")),
        _kind("feedback.resolved", _("Complaint resolved"), Purpose.SERVICE, case_no="F1024", resolution="已为您免费重新做四轮定位", text=("{{ greeting }}，您的反馈（编号 {{ case_no }}）处理结果：{{ resolution }}。如有疑问请致电 {{ store_phone }}。", "Dear {{ greeting }}, about your feedback (ref. {{ case_no }}): {{ resolution }}. Questions? Call {{ store_phone }}.")),
        _kind("feedback.suggestion_answer", _("Suggestion assessed"), Purpose.SERVICE, case_no="F1024", decision="已采纳", details="下月起周六延长营业至 20:00", text=("{{ greeting }}，感谢您的建议（编号 {{ case_no }}）：{{ decision }}。{{ details }}", "Dear {{ greeting }}, thank you for your suggestion (ref. {{ case_no }}): {{ decision }}. {{ details }}")),
        # the owner app (aftersales/portal): the sign-in code, sent at once (messaging.services.message_expedite)
        _kind("customer.attach_code", _("Code to share a customer's record with a store"), Purpose.SERVICE, otp="602417", minutes="15", text=("【{{ store_name }}】{{ greeting }}，门店顾问正在为您在本店建立服务档案，验证码 {{ otp }}（{{ minutes }} 分钟内有效）。请仅在本人到店或致电时告诉顾问；如非本人操作请忽略。", "{{ store_name }}: {{ greeting }}, an advisor is adding you as a customer of this store. Your code is {{ otp }} (valid {{ minutes }} min). Only tell it to the advisor you are with; if this was not you, ignore this message.")),
        _kind("portal.deletion_refused", _("Deletion request refused"), Purpose.SERVICE, date="2026-12-01", reason="发票须按会计档案规定保存，您的会员信息已停用", text=("{{ greeting }}，您于 {{ date }} 提交的个人信息删除申请未能办理，原因：{{ reason }}。如有疑问请致电 {{ store_phone }}。", "{{ greeting }}, your data deletion request of {{ date }} was declined: {{ reason }}. Questions? Call {{ store_phone }}.")),
        _kind("portal.sign_in_code", _("Owner app sign-in code"), Purpose.SERVICE, otp="428913", minutes="15", text=("【{{ store_name }}】您的登录验证码是 {{ otp }}，{{ minutes }} 分钟内有效。请勿告诉他人；如非本人操作请忽略。", "{{ store_name }}: your sign-in code is {{ otp }}, valid for {{ minutes }} minutes. Never share it; if you did not ask for it, ignore this message.")),
        # care (reminders and playbooks, aftersales/care)
        _kind("care.first_service", _("First service reminder"), Purpose.SERVICE, VEHICLE, due_date="2026-12-20", due_km="5,000", directions="天河路 1 号，地下停车场 B2", materials="保养手册、行驶证", link="https://example.invalid/b/1", text=("{{ greeting }}，您的{{ plate }}将于 {{ due_date }}（或 {{ due_km }} 公里）到期首次保养。请携带：{{ materials }}。路线：{{ directions }}。点击预约：{{ link }}", "{{ greeting }}, first service of {{ plate }} due {{ due_date }} or at {{ due_km }} km. Bring: {{ materials }}. {{ link }}")),
        _kind("care.insurance", _("Insurance expiry reminder"), Purpose.SERVICE, VEHICLE, due_date="2026-12-20", link="https://example.invalid/b/1", text=("{{ greeting }}，您的{{ plate }}车险将于 {{ due_date }} 到期，{{ store_name }}可为您办理续保，咨询 {{ store_phone }}。{{ link }}", "{{ greeting }}, insurance of {{ plate }} expires {{ due_date }}. Renew with us: {{ store_phone }} {{ link }}")),
        _kind("care.inspection", _("Annual inspection reminder"), Purpose.SERVICE, VEHICLE, due_date="2026-12-20", link="https://example.invalid/b/1", text=("{{ greeting }}，您的{{ plate }}年检将于 {{ due_date }} 到期，可预约年检前检查：{{ link }}", "{{ greeting }}, the annual inspection of {{ plate }} is due on {{ due_date }}. Book a check first: {{ link }}")),
        _kind("care.warranty", _("Warranty end reminder"), Purpose.SERVICE, VEHICLE, due_date="2026-12-20", offer="延保服务八折", link="https://example.invalid/b/1", text=("{{ greeting }}，您的{{ plate }}整车质保将于 {{ due_date }} 到期，建议到店做一次质保期检查：{{ link }} {{ offer }}", "{{ greeting }}, the warranty of {{ plate }} ends on {{ due_date }}. Book a final check: {{ link }} {{ offer }}")),
        _kind("care.birthday", _("Birthday greeting"), Purpose.MARKETING, offer="生日当月免费内饰清洁一次", link="https://example.invalid/b/1", text=("{{ greeting }}，{{ store_name }}祝您生日快乐！本月为您准备了：{{ offer }}。{{ link }}", "Happy birthday, {{ greeting }}! {{ store_name }} offers you {{ offer }}. {{ link }}")),
        _kind("care.anniversary", _("Purchase anniversary"), Purpose.MARKETING, VEHICLE, years="1", offer="购车周年免费全车检测一次", link="https://example.invalid/b/1", text=("{{ greeting }}，您的{{ plate }}已陪伴您 {{ years }} 年，{{ store_name }}为您准备了：{{ offer }}。{{ link }}", "{{ greeting }}, {{ years }} year(s) with your {{ plate }}! Our gift: {{ offer }}. {{ link }}")),
        _kind("care.holiday", _("Holiday greeting"), Purpose.MARKETING, VEHICLE, holiday="国庆节", offer="节前免费出行安全检查", link="https://example.invalid/b/1", text=("{{ greeting }}，{{ holiday }}将至，{{ store_name }}为您的{{ plate }}准备了：{{ offer }}。{{ link }}", "{{ greeting }}, for {{ holiday }}, {{ plate }} gets {{ offer }}. {{ link }}")),
        _kind("care.declined", _("Declined work reminder"), Purpose.MARKETING, VEHICLE, work="更换前刹车片", link="https://example.invalid/b/1", text=("{{ greeting }}，上次到店时建议您的{{ plate }}进行：{{ work }}。为安全起见，欢迎预约：{{ link }}", "{{ greeting }}, we recommended for {{ plate }}: {{ work }}. Book it: {{ link }}")),
        _kind("care.call", _("Call task (playbook)"), Purpose.SERVICE, VEHICLE, reason="半年未到店，请致电了解原因", text=("致电{{ customer_name }}（{{ plate }}）：{{ reason }}", "Call {{ customer_name }} ({{ plate }}): {{ reason }}")),
        _kind("care.recall", _("Come-back notice"), Purpose.MARKETING, offer="已超过保养周期，免费轮胎检查", link="https://example.invalid/b/1", text=("{{ greeting }}，您已较长时间未到{{ store_name }}保养：{{ offer }}。预约 {{ link }}", "{{ greeting }}, we miss you at {{ store_name }}: {{ offer }}. Book: {{ link }}")),
        _kind("care.club", _("Club invitation"), Purpose.MARKETING, offer="车主俱乐部自驾活动", link="https://example.invalid/b/1", text=("{{ greeting }}，诚邀您加入{{ store_name }}：{{ offer }}。详情 {{ link }}", "{{ greeting }}, {{ store_name }} invites you: {{ offer }}. {{ link }}")),
        _kind("care.recommendation", _("Mileage-based recommendation"), Purpose.MARKETING, VEHICLE, km="20,000", recommendation="更换变速箱油", link="https://example.invalid/b/1", text=("{{ greeting }}，您的{{ plate }}已行驶约 {{ km }} 公里，建议：{{ recommendation }}。预约 {{ link }}", "{{ greeting }}, {{ plate }} is at about {{ km }} km; we recommend {{ recommendation }}. Book: {{ link }}")),
        _kind("inspection.report", _("Inspection report"), Purpose.SERVICE, VEHICLE, red="1", yellow="2",
              link="https://example.invalid/inspections/r/1/", text=("{{ greeting }}，您的{{ plate }}检测报告已出：{{ red }} 项需立即处理，{{ yellow }} 项建议关注。查看报告（含照片）：{{ link }}", "{{ greeting }}, inspection of {{ plate }}: {{ red }} urgent, {{ yellow }} to watch. Report with photos: {{ link }}")),
        _kind("workshop.progress_silent", _("No progress update for 30 minutes"), Purpose.SERVICE, order_number="ROGZ20261201001", plate="粤B12345", minutes="35", link="/workshop/board/", text=("工单 {{ order_number }}（{{ plate }}，{{ customer_name }}）已 {{ minutes }} 分钟没有向客户更新进度，请发送进度说明：{{ link }}", "Order {{ order_number }} ({{ plate }}, {{ customer_name }}): no update to the customer for {{ minutes }} minutes. Send a progress note: {{ link }}")),
        _kind("people.certificate_expiring", _("Certificate about to expire"), Purpose.SERVICE, holder_name="王师傅", certificate="新能源高压作业", number="HV-2025-0113", valid_until="2027-01-31", days="45", link="/people/me/", text=("{{ holder_name }} 的证书“{{ certificate }}”（编号 {{ number }}）将于 {{ valid_until }} 到期（还有 {{ days }} 天），请及时复训换证：{{ link }}", "{{ holder_name }}'s certificate “{{ certificate }}” (no. {{ number }}) expires on {{ valid_until }} (in {{ days }} days): renew it in time. {{ link }}")),
        _kind("loyalty.voucher_issued", _("Voucher issued"), Purpose.MARKETING, voucher_name="免费空调清洗", voucher_code="V7K3M9QX2A",
              valid_until="2027-03-01", text=("{{ greeting }}，{{ store_name }}送您一张“{{ voucher_name }}”，券码 {{ voucher_code }}，有效期至 {{ valid_until }}，到店出示即可使用。", "{{ greeting }}, a voucher from {{ store_name }}: {{ voucher_name }}, code {{ voucher_code }}, valid until {{ valid_until }}.")),
        # the manager's cockpit (aftersales/analytics): a review mailed to the managers who subscribe, with signed links
        _kind("analytics.review", _("Management review for managers"), Purpose.SERVICE, review="月度经营回顾", period="2026-11",
              scope_name="广州天河店", xlsx_link="https://example.invalid/m/1", pdf_link="https://example.invalid/m/2",
              days="14", text=("{{ scope_name }}{{ period }}{{ review }}已生成。\n表格：{{ xlsx_link }}\n打印版：{{ pdf_link }}\n{{ days }}天内有效，仅限本人。", "The {{ review }} of {{ scope_name }} for {{ period }} is ready.\nExcel: {{ xlsx_link }}\nPDF: {{ pdf_link }}\nThe links are for you alone and work for {{ days }} days.")),
        _kind("estimate.additional_work", _("Additional work to approve"), Purpose.SERVICE, VEHICLE, amount="680.00",
              work="更换前刹车片", link="https://example.invalid/e/1", text=("{{ greeting }}，维修中发现您的{{ plate }}需要追加项目：{{ work }}，费用 ¥{{ amount }}。请查看照片并确认：{{ link }}", "{{ greeting }}, {{ plate }} needs more work: {{ work }}, CNY {{ amount }}. Photos and approval: {{ link }}")),
        # parts purchasing (aftersales/parts): "Send to supplier" e-mails the purchase order, its PDF attached
        _kind("parts.purchase_order", _("Purchase order to a supplier"), Purpose.SERVICE, supplier_name="广州汽配有限公司",
              number="PO-GZ-000123", lines="3", total="1,280.00", expected_on="2026-12-10", purchase_order_id="1",
              text=("{{ supplier_name }}：您好！{{ store_name }}采购单 {{ number }}（共{{ lines }}项，合计 ¥{{ total }}）见附件，请于 {{ expected_on }} 前送达，送货单上请注明采购单号。如有疑问请致电 {{ store_phone }}。", "Dear {{ supplier_name }}, please find attached purchase order {{ number }} from {{ store_name }} ({{ lines }} lines, CNY {{ total }}), to be delivered by {{ expected_on }}; please quote the order number on the delivery note. Questions: {{ store_phone }}.")),
        # the owner app's accessories shop (aftersales/portal/shop.py): ready, cancelled by the store, expired unpaid
        _kind("shop.ready", _("App accessories order ready"), Purpose.SERVICE, number="A26120700012", next_step="请到店领取",
              link="https://example.invalid/app/shop/orders/1/", text=("{{ greeting }}，您在{{ store_name }}的配件订单 {{ number }} 已备好，{{ next_step }}。查看 {{ link }}", "{{ greeting }}, your accessories order {{ number }} at {{ store_name }} is ready: {{ next_step }}. {{ link }}")),
        _kind("shop.cancelled", _("App accessories order cancelled"), Purpose.SERVICE, number="A26120700012", reason="商品缺货",
              link="https://example.invalid/app/shop/orders/1/", text=("{{ greeting }}，抱歉，{{ store_name }}已取消您的配件订单 {{ number }}，原因：{{ reason }}。已付款项原路退回。详情 {{ link }}", "{{ greeting }}, sorry: {{ store_name }} cancelled your accessories order {{ number }}. Reason: {{ reason }}. What you paid goes back the way you paid. {{ link }}")),
        _kind("shop.expired", _("App accessories order expired unpaid"), Purpose.SERVICE, number="A26120700012", minutes="30",
              link="https://example.invalid/app/shop/orders/1/", text=("{{ greeting }}，您在{{ store_name }}的配件订单 {{ number }} 未在 {{ minutes }} 分钟内付款，已自动取消，预留的商品已释放。详情 {{ link }}", "{{ greeting }}, your accessories order {{ number }} at {{ store_name }} was not paid within {{ minutes }} minutes and has expired; the items are no longer held. {{ link }}")),
        # remote diagnosis (aftersales/telematics): critical alerts are service messages (sent even in quiet hours);
        # the others obey marketing consent and quiet hours
        _kind("telematics.alert_critical", _("Remote diagnosis: urgent alert"), Purpose.SERVICE, VEHICLE, problem="发动机第1缸失火",
              advice="尽快到店检修", link="https://example.invalid/b/1", text=("{{ greeting }}，您的车辆{{ plate }}{{ problem }}，建议{{ advice }}。预约：{{ link }}", "{{ greeting }}, {{ plate }}: {{ problem }}; please {{ advice }}. Book: {{ link }}")),
        _kind("telematics.alert", _("Remote diagnosis: alert"), Purpose.MARKETING, VEHICLE, problem="电池电量低",
              advice="到店检测", link="https://example.invalid/b/1", text=("{{ greeting }}，您的车辆{{ plate }}{{ problem }}，建议{{ advice }}。预约：{{ link }}", "{{ greeting }}, {{ plate }}: {{ problem }}; please {{ advice }}. Book: {{ link }}")),
        _kind("telematics.call", _("Remote diagnosis: call the owner"), Purpose.SERVICE, VEHICLE, problem="电池电量低",
              text=("致电{{ customer_name }}（{{ plate }}）：远程诊断发现{{ problem }}，请邀请车主预约到店。", "Call {{ customer_name }} ({{ plate }}): remote diagnosis found {{ problem }}; invite the owner to book a visit.")),
    ]
}


#: the English of the sample values, so that an English template is previewed (and measured) as an English customer
#: reads it; names and plates stay as they are (an English-speaking customer of a Chinese store keeps them)
SAMPLES_EN = {
    "改期": "rescheduled",
    "月度经营回顾": "monthly review",
    "广州汽配有限公司": "Guangzhou Auto Parts Co.",
    "已采纳": "adopted",
    "下月起周六延长营业至 20:00": "from next month we open until 20:00 on Saturdays",
    "请致电客户了解满意度": "call the customer about their visit",
    "天河路 1 号，地下停车场 B2": "1 Tianhe Road, car park B2",
    "张先生": "Mr Zhang",
    "国庆节": "National Day",
    "保养手册、行驶证": "service book, vehicle licence",
    "丰田 凯美瑞": "Toyota Camry",
    "冬季电瓶免费检测": "a free winter battery check",
    "已超过保养周期，免费轮胎检查": "your service is overdue; free tyre check",
    "延保服务八折": "20% off extended warranty",
    "生日当月免费内饰清洁一次": "a free interior clean this month",
    "节前免费出行安全检查": "a free safety check before the holiday",
    "购车周年免费全车检测一次": "a free full check-up",
    "车主俱乐部自驾活动": "our owners' club road trip",
    "机油更换中，位于 3 号工位": "oil change under way in bay 3",
    "半年未到店，请致电了解原因": "no visit for six months; ask why",
    "更换变速箱油": "a gearbox oil change",
    "已为您免费重新做四轮定位": "we redid the wheel alignment free of charge",
    "广州天河店": "Guangzhou Tianhe",
    "回访客户": "Follow-up call",
    "请到店领取": "collect them at the store",
    "商品缺货": "out of stock",
    "免费空调清洗": "Free air-con cleaning",
    "更换前刹车片": "replace the front brake pads",
    "粤B12345": "粤B12345",
    "发动机第1缸失火": "misfire in cylinder 1",
    "尽快到店检修": "have it repaired soon",
    "电池电量低": "the battery is low",
    "到店检测": "have it checked at the store",
}


def sample_values(kind: MessageKind, language: str) -> dict[str, str]:
    """The kind's sample values in ``language`` (for previews and their SMS length)."""
    if not language.startswith("en"):
        return dict(kind.variables)
    return {name: SAMPLES_EN.get(value, value) for name, value in kind.variables.items()}


#: the subject of a message (e-mail, app notification) as the recipient reads it, per kind; the kind's label is how
#: staff name the kind ("Offer / campaign") and is the subject only of kinds not listed here
SUBJECTS: dict[str, Promise] = {
    "customer.welcome": pgettext_lazy("message subject", "Welcome to our store"),
    "appointment.confirmation": pgettext_lazy("message subject", "Your appointment is booked"),
    "appointment.reminder": pgettext_lazy("message subject", "A reminder of your appointment"),
    "appointment.changed": pgettext_lazy("message subject", "Your appointment has changed"),
    "repair.progress": pgettext_lazy("message subject", "An update on your car"),
    "repair.ready": pgettext_lazy("message subject", "Your car is ready for collection"),
    "estimate.approval": pgettext_lazy("message subject", "Your estimate is ready for approval"),
    "estimate.additional_work": pgettext_lazy("message subject", "We found more work: your approval is needed"),
    "followup.survey": pgettext_lazy("message subject", "How was your visit?"),
    "maintenance.due": pgettext_lazy("message subject", "Your car is due for a service"),
    "campaign.offer": pgettext_lazy("message subject", "An offer for you"),
    "reception.handover_sign": pgettext_lazy("message subject", "Please sign the handover sheet for your car"),
    "mobility.driver_on_the_way": pgettext_lazy("message subject", "Your pickup driver is on the way"),
    "rescue.dispatched": pgettext_lazy("message subject", "Rescue is on the way"),
    "rescue.eta_slipped": pgettext_lazy("message subject", "Rescue will arrive later than promised"),
    "assessment.report": pgettext_lazy("message subject", "Your damage assessment report"),
    "feedback.received": pgettext_lazy("message subject", "We have received your feedback"),
    "feedback.resolved": pgettext_lazy("message subject", "Your complaint has been resolved"),
    "feedback.suggestion_answer": pgettext_lazy("message subject", "Our reply to your suggestion"),
    "portal.sign_in_code": pgettext_lazy("message subject", "Your sign-in code"),
    "portal.deletion_refused": pgettext_lazy("message subject", "About your request to delete your data"),
    "customer.attach_code": pgettext_lazy("message subject", "Your code for the store"),
    "care.first_service": pgettext_lazy("message subject", "Time for your car's first service"),
    "telematics.alert_critical": pgettext_lazy("message subject", "Your car needs attention now"),
    "telematics.alert": pgettext_lazy("message subject", "A check-up is recommended for your car"),
    "care.insurance": pgettext_lazy("message subject", "Your car insurance is due for renewal"),
    "care.inspection": pgettext_lazy("message subject", "Your car's annual inspection is due"),
    "care.warranty": pgettext_lazy("message subject", "Your warranty is ending soon"),
    "care.birthday": pgettext_lazy("message subject", "Happy birthday"),
    "care.anniversary": pgettext_lazy("message subject", "Happy car anniversary"),
    "care.holiday": pgettext_lazy("message subject", "Season's greetings"),
    "care.declined": pgettext_lazy("message subject", "Work we recommended on your last visit"),
    "analytics.review": pgettext_lazy("message subject", "Your management review is ready"),
    "parts.purchase_order": pgettext_lazy("message subject", "Purchase order"),
    "care.recall": pgettext_lazy("message subject", "We'd love to see you again"),
    "care.club": pgettext_lazy("message subject", "An invitation to our owners' club"),
    "care.recommendation": pgettext_lazy("message subject", "Recommended service for your car"),
    "inspection.report": pgettext_lazy("message subject", "Your vehicle inspection report"),
    "loyalty.voucher_issued": pgettext_lazy("message subject", "A voucher for you"),
    "shop.ready": pgettext_lazy("message subject", "Your accessories order is ready"),
    "shop.cancelled": pgettext_lazy("message subject", "Your accessories order was cancelled"),
    "shop.expired": pgettext_lazy("message subject", "Your accessories order expired"),
}


def default_subject(kind: MessageKind) -> Promise | str:
    """The built-in subject of ``kind`` (lazy: str() it in the recipient's language)."""
    return SUBJECTS.get(kind.code, kind.label)


def get_kind(code: str) -> MessageKind:
    return KINDS[code]
