"""A voucher's SMS never states an expiry that has already passed (issue 16)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from aftersales.loyalty.services import voucher_issue
from aftersales.messaging.models import Message

from .factories import customer_at, template

pytestmark = pytest.mark.django_db


def test_no_message_for_a_voucher_already_expired(world):
    customer = customer_at(world.a, name="张伟")
    t = template(world.group, validity_days=30, per_customer_limit=5)
    old = voucher_issue(actor=world.manager, customer=customer, store=world.a, template=t, reason="",
                        at=timezone.now() - dt.timedelta(days=60))
    assert old.valid_until < timezone.localdate()
    assert not Message.objects.filter(kind="loyalty.voucher_issued").exists()
    fresh = voucher_issue(actor=world.manager, customer=customer, store=world.a, template=t, reason="")
    (message,) = Message.objects.filter(kind="loyalty.voucher_issued")
    assert fresh.valid_until.isoformat() in message.body
