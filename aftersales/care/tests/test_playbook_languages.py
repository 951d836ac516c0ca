"""The shipped playbooks read in the reader's language (issue 16): names and descriptions as codes, step texts as
"中文 / English" pairs; the data migration turns a store's Chinese-only defaults into those, and leaves a manager's
own text alone."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.test import Client
from django.utils.translation import override

from aftersales.care.models import Playbook, PlaybookStep
from aftersales.care.playbooks import create_default_playbooks

pytestmark = pytest.mark.django_db


def _page(user, language: str, url: str) -> str:
    user.language = language
    user.save(update_fields=["language"])
    client = Client()
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def test_the_shipped_playbooks_read_in_each_language(world):
    create_default_playbooks(world.a)
    b = Playbook.objects.get(store=world.a, code="tier-b")
    with override("en"):
        assert str(b.name) == "B promising customers: mileage advice, upgrade offers, seasonal tips"
    with override("zh-hans"):
        assert str(b.name) == "B 潜力客户：里程推荐、升级优惠、季节提示"
    listing = _page(world.manager, "en", f"/care/playbooks/?store={world.a.pk}")
    assert "B promising customers" in listing and "潜力客户" not in listing
    page = _page(world.manager, "en", f"/care/playbooks/{b.pk}/")
    assert "20% off the extended warranty" in page and "延保服务八折优惠" not in page and "extended warranty (20% off)" in page
    page = _page(world.manager, "zh-hans", f"/care/playbooks/{b.pk}/")
    assert "延保服务八折优惠" in page and "20% off the extended warranty" not in page and "潜力客户" in page


def test_the_migration_makes_the_old_defaults_bilingual_and_leaves_a_managers_text(world):
    create_default_playbooks(world.a)
    c = Playbook.objects.get(store=world.a, code="tier-c")
    d = Playbook.objects.get(store=world.a, code="tier-d")
    Playbook.objects.filter(pk=c.pk).update(name="C 新客：首保提醒、欢迎礼、新车主群",
                                            description="首保前 3 天的提醒（含预约链接、所需材料、路线）由每日提醒扫描发送；本流程邀请加入新车主群，首保后送欢迎礼并回访。")
    Playbook.objects.filter(pk=d.pk).update(name="D 我们自己的名字", description="半年未到店：召回提醒（已超过保养周期，免费轮胎检查）；服务顾问致电了解原因；回厂工时七折。")
    PlaybookStep.objects.filter(playbook=d, kind="call").update(text="半年未到店，请致电了解原因")
    PlaybookStep.objects.filter(playbook=d, kind="message", message_kind="campaign.offer").update(text="回厂工时费七折（30% off labour）")
    migration = importlib.import_module("aftersales.care.migrations.0006_bilingual_playbooks")
    migration.forwards(apps, None)
    c.refresh_from_db()
    d.refresh_from_db()
    with override("en"):
        assert str(c.name) == "C new customers: welcome and the new owners' group"
        assert str(c.description).startswith("The reminder 3 days before the first service")
        assert str(d.name) == "D 我们自己的名字"  # a manager's name stays as typed (its description was the default)
        assert str(d.description).startswith("No visit for half a year")
    texts = dict(PlaybookStep.objects.filter(playbook=d).exclude(text="").order_by("seq").values_list("kind", "text"))
    assert texts["call"] == "半年未到店，请致电了解原因 / No visit for half a year: call to ask why"
    assert texts["message"].endswith("回厂工时费七折 / 30% off labour on your next visit")
