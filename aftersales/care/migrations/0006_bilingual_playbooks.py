"""The shipped playbooks read in the reader's language (issue 16): a store's A/B/C/D playbooks created with the
Chinese-only names, descriptions and step texts get the codes (names, descriptions) and "中文 / English" texts the
defaults now ship with. A name, description or text a manager changed is left as typed."""

import json

from django.db import migrations


def _coded(msgid):
    return json.dumps({"_t": msgid}, ensure_ascii=False, separators=(",", ":"))


NAMES = {
    "A 忠诚客户：年度权益与车主俱乐部": "A loyal customers: annual benefits and the owners' club",
    "B 潜力客户：里程推荐、升级优惠、季节提示": "B promising customers: mileage advice, upgrade offers, seasonal tips",
    "C 新客：欢迎与新车主群": "C new customers: welcome and the new owners' group",
    "C 新客：首保提醒、欢迎礼、新车主群": "C new customers: welcome and the new owners' group",
    "D 流失风险：召回提醒、顾问致电、回厂优惠": "D at risk: win-back reminder, advisor's call, return offer",
    "C 首保之后：欢迎礼与回访": "C after the first service: welcome gift and follow-up",
}
DESCRIPTIONS = {
    "专属顾问、优先通道；年度权益包（免费深度检测、免费空调清洗、代步车券）；车主俱乐部活动邀请。":
        "A dedicated advisor and a priority lane; the annual benefits pack (a free in-depth inspection, a free "
        "air-conditioning clean, a courtesy car voucher); invitations to the owners' club events.",
    "根据里程与故障历史的个性化推荐；延保等升级优惠（八折）；季节性提示。":
        "Advice for the car from its mileage and fault history; upgrade offers such as the extended warranty (20% off); "
        "seasonal tips.",
    "首保前 3 天的提醒（含预约链接、所需材料、路线）由每日提醒扫描发送；本流程欢迎新客并邀请加入新车主群；首保之后的欢迎礼与回访见“C 首保之后”。":
        "The reminder 3 days before the first service (with the booking link, what to bring and the route) is sent by "
        "the daily reminder sweep; this playbook welcomes new customers and invites them to the new owners' group; the "
        "welcome gift and the follow-up after the first service are in “C after the first service”.",
    "首保前 3 天的提醒（含预约链接、所需材料、路线）由每日提醒扫描发送；本流程邀请加入新车主群，首保后送欢迎礼并回访。":
        "The reminder 3 days before the first service (with the booking link, what to bring and the route) is sent by "
        "the daily reminder sweep; this playbook welcomes new customers and invites them to the new owners' group; the "
        "welcome gift and the follow-up after the first service are in “C after the first service”.",
    "半年未到店：召回提醒（已超过保养周期，免费轮胎检查）；服务顾问致电了解原因；回厂工时七折。":
        "No visit for half a year: a win-back reminder (service overdue, a free tyre check); the service advisor calls "
        "to ask why; 30% off labour on return.",
    "首次保养完成后：送上欢迎礼，3 天后客服回访了解用车情况与服务满意度。":
        "After the first service: a welcome gift, and 3 days later the call centre asks how the car is and how the "
        "service was.",
}
TEXTS = {
    "年度权益包：免费深度检测、免费空调清洗、代步车券各一次":
        "Annual benefits: a free in-depth inspection, a free A/C clean and a courtesy car voucher",
    "车主俱乐部自驾活动，诚邀您参加": "You are invited to the owners' club road trip",
    "延保服务八折优惠": "20% off the extended warranty",
    "季节关怀：冬季电瓶免费检测、雨季轮胎免费检查":
        "Seasonal care: a free battery test in winter, a free tyre check in the rainy season",
    "欢迎加入新车主群，用车问题随时咨询": "Welcome to the new owners' group: ask us anything about your car",
    "已超过保养周期，免费轮胎检查": "Your service is overdue: free tyre check",
    "半年未到店，请致电了解原因": "No visit for half a year: call to ask why",
    "回厂工时费七折（30% off labour）": "30% off labour on your next visit",
    "首保欢迎礼：免费精洗一次": "First service welcome gift: a free detailed wash",
    "首保回访：了解用车情况与服务满意度": "First service follow-up: how the car is and how the service was",
}


def forwards(apps, schema_editor):
    Playbook = apps.get_model("care", "Playbook")
    PlaybookStep = apps.get_model("care", "PlaybookStep")
    for playbook in Playbook.objects.filter(name__in=list(NAMES)).only("pk", "name"):
        playbook.name = _coded(NAMES[playbook.name])
        playbook.save(update_fields=["name"])
    for playbook in Playbook.objects.filter(description__in=list(DESCRIPTIONS)).only("pk", "description"):
        playbook.description = _coded(DESCRIPTIONS[playbook.description])
        playbook.save(update_fields=["description"])
    for step in PlaybookStep.objects.filter(text__in=list(TEXTS)).only("pk", "text"):
        chinese = step.text.replace("（30% off labour）", "")
        step.text = f"{chinese} / {TEXTS[step.text]}"
        step.save(update_fields=["text"])


class Migration(migrations.Migration):
    dependencies = [
        ("care", "0005_first_service_event"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
