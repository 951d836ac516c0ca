"""The periodic tasks and the commands: safe to run twice, and loyalty_check fails when a balance drifted."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from aftersales.customers.models import Customer
from aftersales.loyalty.models import PointsEntry, Voucher
from aftersales.loyalty.services import points_earn_behaviour, voucher_issue
from aftersales.loyalty.tasks import earn_sweep, expiry_sweep

from .factories import customer_at, make_invoice, template

pytestmark = pytest.mark.django_db


def test_tasks_earn_and_expire_once(world):
    zhang = customer_at(world.a)
    make_invoice(world.a, zhang, paid=True)
    entry = points_earn_behaviour(actor=world.advisor, customer=zhang, store=world.a, behaviour="checkin", source_key="1")
    PointsEntry.objects.filter(pk=entry.pk).update(expires_on="2020-01-31")
    v = voucher_issue(actor=world.manager, customer=zhang, store=world.a, template=template(world.group), reason="")
    Voucher.objects.filter(pk=v.pk).update(valid_from="2020-01-01", valid_until="2020-01-31")
    assert earn_sweep() == 1
    assert expiry_sweep() == {"points_expired": 1, "vouchers_expired": 1}
    assert earn_sweep() == 0
    assert expiry_sweep() == {"points_expired": 0, "vouchers_expired": 0}
    assert Customer.objects.get(pk=zhang.pk).points_balance == 1000


def test_loyalty_check_command(world):
    zhang = customer_at(world.a)
    points_earn_behaviour(actor=world.advisor, customer=zhang, store=world.a, behaviour="review", source_key="1")
    out = io.StringIO()
    call_command("loyalty_check", stdout=out)
    assert "agrees" in out.getvalue()
    Customer.objects.filter(pk=zhang.pk).update(points_balance=7)
    with pytest.raises(CommandError):
        call_command("loyalty_check", stdout=io.StringIO())
    out = io.StringIO()
    call_command("loyalty_check", "--repair", stdout=out)
    assert f"customer {zhang.pk}: ledger 50, customer 7" in out.getvalue()
    assert Customer.objects.get(pk=zhang.pk).points_balance == 50
    call_command("loyalty_sweep", stdout=io.StringIO())
