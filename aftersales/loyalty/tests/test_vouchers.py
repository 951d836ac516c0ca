"""Vouchers: issue (limit, store, window), redeem rules with their errors, idempotency, coverage."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from aftersales.common.errors import DomainError
from aftersales.loyalty.models import Voucher, VoucherEvent
from aftersales.loyalty.services import voucher_issue

from .factories import customer_at, template

pytestmark = pytest.mark.django_db


def test_issue_gives_a_unique_code_and_a_store_local_window(world):
    zhang = customer_at(world.a)
    t = template(world.group, validity_days=30, per_customer_limit=2)
    v1 = voucher_issue(actor=world.manager, customer=zhang, store=world.a, template=t, reason="welcome")
    v2 = voucher_issue(actor=world.manager, customer=zhang, store=world.a, template=t, reason="welcome")
    assert v1.code != v2.code and v1.code.startswith("V") and len(v1.code) == 10
    today = timezone.localtime(timezone.now(), world.a.zone).date()
    assert (v1.valid_from, v1.valid_until) == (today, today + dt.timedelta(days=29))
    assert v1.status == "issued" and v1.issued_by == world.manager
    assert VoucherEvent.objects.filter(voucher=v1, to_state="issued").count() == 1


def test_per_customer_limit_refuses_and_writes_nothing(world):
    zhang = customer_at(world.a)
    t = template(world.group, per_customer_limit=1)
    voucher_issue(actor=world.manager, customer=zhang, store=world.a, template=t, reason="")
    with pytest.raises(DomainError) as exc:
        voucher_issue(actor=world.manager, customer=zhang, store=world.a, template=t, reason="")
    assert exc.value.code == "voucher_limit_reached" and exc.value.field == "template"
    assert Voucher.objects.filter(customer=zhang).count() == 1


def test_system_issue_without_actor_and_other_store_refused(world):
    zhang = customer_at(world.a)
    t = template(world.group, store=world.b)
    with pytest.raises(DomainError) as exc:
        voucher_issue(actor=None, customer=zhang, store=world.a, template=t, reason="playbook")
    assert exc.value.code == "template_not_for_store"
    with pytest.raises(DomainError) as exc:
        voucher_issue(actor=world.manager, customer=zhang, store=world.b, template=t, reason="")
    assert exc.value.code == "store_not_allowed"
    v = voucher_issue(actor=None, customer=zhang, store=world.b, template=t, reason="playbook")
    assert v.issued_by is None


def test_advisor_may_not_issue(world):
    zhang = customer_at(world.a)
    with pytest.raises(DomainError) as exc:
        voucher_issue(actor=world.advisor, customer=zhang, store=world.a, template=template(world.group), reason="")
    assert exc.value.code == "permission_denied"
