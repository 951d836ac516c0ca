"""A points entry's audit reason names its kind and source in words, in the reader's language (issue 16 review:
"points.gift (redeem/gift …)"), and the two older stored forms are rewritten to that code by the data migration."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.utils.translation import override

from aftersales.common import audit
from aftersales.common.models import AuditEvent
from aftersales.common.readtime import coded
from aftersales.common.tests.factories import CustomerFactory
from aftersales.loyalty.services import points_reason
from tests.test_no_raw_codes import raw_codes

pytestmark = pytest.mark.django_db

CODES = {"redeem", "gift", "earn", "purchase", "adjust", "manual"}


def _reads(reason: object) -> tuple[str, str]:
    with override("zh-hans"):
        zh = str(reason)
    with override("en"):
        en = str(reason)
    return zh, en


def test_the_reason_reads_as_words_in_each_language(world):
    customer = CustomerFactory(group=world.group, home_store=world.a)
    note = coded("Invoice %(n)s", n="INV-2026-0042")
    event = audit.record(actor=None, obj=customer, action="points.redeemed", customer_id=customer.pk,
                         reason=points_reason(kind="redeem", source="invoice", points=-200, note=note))
    event = AuditEvent.objects.get(pk=event.pk)
    zh, en = _reads(event.reason)
    assert en == "Redeemed · Paid with points on an invoice -200 Invoice INV-2026-0042", en
    assert zh.startswith("已使用 · "), zh
    assert "INV-2026-0042" in zh and "Invoice" not in zh and "Redeemed" not in zh
    for text, chinese in ((zh, True), (en, False)):
        assert not raw_codes([text], CODES, chinese=chinese), text
    owner = points_reason(kind="redeem", source="gift", points=-50, note="", by_owner=True)
    zh, en = _reads(AuditEvent.objects.get(pk=audit.record(actor=None, obj=customer, action="points.gift",
                                                            reason=owner).pk).reason)
    assert en.startswith("Redeemed · Gift -50") and en.endswith("(owner app)"), en
    assert zh.startswith("已使用 · 礼品 -50") and zh.endswith("（车主App）"), zh


def test_the_migration_rewrites_both_older_forms(world):
    customer = CustomerFactory(group=world.group, home_store=world.a)
    old_code = coded("%(kind)s/%(source)s %(points)s %(note)s", kind="redeem", source="gift", points="-200",
                     note="Gift: car wash")
    rows = [
        audit.record(actor=None, obj=customer, action="points.gift", reason=old_code),
        audit.record(actor=None, obj=customer, action="points.adjusted", reason="adjust/manual +30 goodwill"),
        audit.record(actor=None, obj=customer, action="points.adjusted", reason="typed by someone"),
        audit.record(actor=None, obj=customer, action="customer.updated", reason="adjust/manual +30 not points"),
    ]
    migration = importlib.import_module("aftersales.loyalty.migrations.0003_points_reason_words")
    migration.forwards(apps, None)
    gift, adjusted, typed, other = (AuditEvent.objects.get(pk=row.pk) for row in rows)
    assert _reads(gift.reason)[1] == "Redeemed · Gift -200 Gift: car wash"
    assert _reads(adjusted.reason)[1] == "Adjusted · Manual adjustment +30 goodwill"
    zh = _reads(adjusted.reason)[0]
    assert "goodwill" in zh and "adjust" not in zh and "manual" not in zh, zh
    assert typed.reason == "typed by someone" and other.reason == "adjust/manual +30 not points"
    migration.forwards(apps, None)  # twice: nothing changes
    assert _reads(AuditEvent.objects.get(pk=gift.pk).reason)[1] == "Redeemed · Gift -200 Gift: car wash"
