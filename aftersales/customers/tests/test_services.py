"""Customer services: validation, one transaction, audit rows, consents, export, permissions, races."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection
from django.utils import timezone, translation

from aftersales.common.errors import Conflict, Forbidden, ValidationFailed
from aftersales.common.models import AuditEvent
from aftersales.common.tests.factories import CustomerFactory, VehicleFactory
from aftersales.customers.models import Consent, Customer, CustomerStore
from aftersales.customers.selectors import current_consents
from aftersales.customers.services import (
    consent_record,
    customer_attach_store,
    customer_create,
    customer_export,
    customer_update,
)
from aftersales.staff.models import User
from aftersales.vehicles.services import mileage_record
from aftersales.workshop.services import repair_order_record_visit

pytestmark = pytest.mark.django_db


def create(world, actor=None, store=None, **data):
    data.setdefault("name", "张伟")
    data.setdefault("mobile", "13812345678")
    return customer_create(actor=actor or world.advisor, store=store or world.a, **data)


# ---- customer_create ---------------------------------------------------------------------------------------
def test_create_happy_path(world):
    customer = create(world, title="mr", email="Zhang@Example.com", birthday="1985-03-02", address=" 深圳 ")
    customer.refresh_from_db()
    assert customer.mobile == "+8613812345678"
    assert customer.mobile_digits == "13812345678"
    assert customer.email == "Zhang@example.com"
    assert customer.birthday == dt.date(1985, 3, 2)
    assert customer.group_id == world.group.pk
    assert customer.home_store_id == world.a.pk
    assert list(CustomerStore.objects.filter(customer=customer).values_list("store_id", flat=True)) == [world.a.pk]
    event = AuditEvent.objects.get(action="customer.created", object_id=str(customer.pk))
    assert event.actor_id == world.advisor.pk
    assert event.customer_id == customer.pk
    assert event.store_id == world.a.pk
    assert event.changes["name"] == [None, "张伟"]
    assert event.changes["mobile"] == [None, "+8613812345678"]
    assert event.changes["home_store"] == [None, world.a.pk]
    with translation.override("en"):
        assert customer.greeting == "Mr 张"
    with translation.override("zh-hans"):
        assert customer.greeting == "张先生"


@pytest.mark.parametrize(
    ("data", "code", "field"),
    [
        ({"mobile": "12345"}, "mobile_invalid", "mobile"),
        ({"mobile": "hello"}, "mobile_format", "mobile"),
        ({"mobile": "010 6552 9988"}, "mobile_not_mobile", "mobile"),
        ({"mobile": ""}, "mobile_required", "mobile"),
        ({"name": ""}, "name_required", "name"),
        ({"name": "   "}, "name_required", "name"),
        ({"name": "x" * 61}, "name_too_long", "name"),
        ({"birthday": "2999-01-01"}, "date_in_future", "birthday"),
        ({"birthday": "1800-01-01"}, "date_too_early", "birthday"),
        ({"birthday": "01/02/1990"}, "date_format", "birthday"),
        ({"email": "not-an-email"}, "email_invalid", "email"),
        ({"title": "dr"}, "invalid_choice", "title"),
        ({"preferred_channel": "fax"}, "invalid_choice", "preferred_channel"),
    ],
)
def test_create_refusals_name_the_field_and_write_nothing(world, data, code, field):
    with pytest.raises(ValidationFailed) as exc:
        create(world, **data)
    assert (exc.value.code, exc.value.field) == (code, field)
    assert Customer.objects.count() == 0
    assert AuditEvent.objects.count() == 0


def test_missing_name_is_refused(world):
    with pytest.raises(ValidationFailed) as exc:
        customer_create(actor=world.advisor, store=world.a, mobile="13812345678")
    assert exc.value.field == "name"
    assert Customer.objects.count() == 0


def test_future_birthday_today_plus_one(world):
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    with pytest.raises(ValidationFailed) as exc:
        create(world, birthday=tomorrow)
    assert exc.value.field == "birthday"


@pytest.mark.parametrize("second", ["13812345678", "+86 138 1234 5678", "138-1234-5678", "008613812345678"])
def test_duplicate_mobile_in_group_is_a_conflict(world, second):
    first = create(world)
    with pytest.raises(Conflict) as exc:
        create(world, actor=world.advisor_b, store=world.b, name="李四", mobile=second)
    assert exc.value.code == "duplicate_mobile"
    assert exc.value.field == "mobile"
    assert exc.value.extra["existing_id"] == first.pk
    assert Customer.objects.filter(mobile="+8613812345678").count() == 1
    assert Customer.objects.count() == 1


def test_same_mobile_in_another_dealer_group_is_allowed(world):
    from aftersales.common.tests.factories import StoreFactory, make_staff

    create(world)
    other_store = StoreFactory()
    other_advisor = make_staff("service_advisor", other_store)
    customer_create(actor=other_advisor, store=other_store, name="王五", mobile="13812345678")
    assert Customer.objects.filter(mobile="+8613812345678").count() == 2


def test_invalid_consent_in_the_same_call_writes_nothing(world):
    consents = [
        {"purpose": "service", "channel": "sms", "granted": True, "source": "in_store"},
        {"purpose": "spam", "channel": "sms", "granted": True, "source": "in_store"},
    ]
    with pytest.raises(ValidationFailed) as exc:
        create(world, consents=consents)
    assert exc.value.field == "purpose"
    assert Customer.objects.count() == 0
    assert Consent.objects.count() == 0
    assert CustomerStore.objects.count() == 0
    assert AuditEvent.objects.count() == 0


def test_create_with_consents(world):
    customer = create(
        world,
        consents=[
            {"purpose": "service", "channel": "sms", "granted": True, "source": "in_store"},
            {"purpose": "marketing", "channel": "wechat", "granted": False, "source": "in_store"},
        ],
    )
    assert customer.consents.count() == 2
    assert AuditEvent.objects.filter(customer=customer, action="consent.granted").count() == 1
    assert AuditEvent.objects.filter(customer=customer, action="consent.withdrawn").count() == 1


def test_create_at_a_store_where_the_actor_does_not_work_is_refused(world):
    with pytest.raises(Forbidden) as exc:
        create(world, actor=world.advisor_b, store=world.a)
    assert exc.value.code == "store_not_allowed"
    assert Customer.objects.count() == 0


# ---- customer_update ---------------------------------------------------------------------------------------
def test_update_writes_an_audit_diff(world):
    customer = create(world, email="a@example.com")
    updated = customer_update(
        actor=world.advisor, customer=customer, name="张 伟伟", email="", mobile="+86 139 0000 1111",
        reason="customer called",
    )
    assert updated.name == "张 伟伟"
    assert updated.mobile == "+8613900001111"
    assert updated.mobile_digits == "13900001111"
    event = AuditEvent.objects.get(action="customer.updated", object_id=str(customer.pk))
    assert event.changes == {
        "name": ["张伟", "张 伟伟"],
        "mobile": ["+8613812345678", "+8613900001111"],
        "email": ["a@example.com", ""],
    }
    assert event.reason == "customer called"
    assert event.actor_id == world.advisor.pk


def test_update_without_change_writes_no_audit(world):
    customer = create(world)
    customer_update(actor=world.advisor, customer=customer, name="张伟", mobile="138 1234 5678")
    assert not AuditEvent.objects.filter(action="customer.updated").exists()


def test_update_to_another_customers_mobile_is_a_conflict(world):
    create(world)
    other = create(world, name="李四", mobile="13900001111")
    with pytest.raises(Conflict) as exc:
        customer_update(actor=world.advisor, customer=other, mobile="+8613812345678", name="李四四")
    assert exc.value.code == "duplicate_mobile"
    other.refresh_from_db()
    assert (other.mobile, other.name) == ("+8613900001111", "李四")


def test_update_refusal_writes_nothing(world):
    customer = create(world)
    with pytest.raises(ValidationFailed) as exc:
        customer_update(actor=world.advisor, customer=customer, name="新名字", email="bad")
    assert exc.value.field == "email"
    customer.refresh_from_db()
    assert customer.name == "张伟"


# ---- attach store ------------------------------------------------------------------------------------------
def test_attach_store_links_the_existing_customer(world):
    customer = create(world)
    attached = customer_attach_store(actor=world.advisor_b, store=world.b, mobile="138 1234 5678")
    assert attached.pk == customer.pk
    assert set(customer.store_links.values_list("store_id", flat=True)) == {world.a.pk, world.b.pk}
    assert AuditEvent.objects.filter(action="customer.store_linked", customer=customer, store=world.b).count() == 1
    # idempotent
    customer_attach_store(actor=world.advisor_b, store=world.b, mobile="13812345678")
    assert customer.store_links.count() == 2
    assert AuditEvent.objects.filter(action="customer.store_linked").count() == 1


def test_attach_store_unknown_mobile(world):
    with pytest.raises(ValidationFailed) as exc:
        customer_attach_store(actor=world.advisor_b, store=world.b, mobile="13812345678")
    assert (exc.value.code, exc.value.field) == ("customer_not_found", "mobile")


def test_attach_store_where_actor_does_not_work_is_refused(world):
    create(world)
    with pytest.raises(Forbidden):
        customer_attach_store(actor=world.advisor, store=world.b, mobile="13812345678")


# ---- consents ----------------------------------------------------------------------------------------------
def test_consent_history_and_current_consent(world):
    customer = create(world)
    now = timezone.now()
    consent_record(
        actor=world.advisor, customer=customer, purpose="marketing", channel="sms", granted=True, source="in_store",
        at=now - dt.timedelta(days=10),
    )
    consent_record(
        actor=world.staff["call_centre_agent"], customer=customer, purpose="marketing", channel="sms", granted=False,
        source="opt_out", at=now - dt.timedelta(days=1), note="replied TD",
    )
    consent_record(
        actor=world.advisor, customer=customer, purpose="service", channel="sms", granted=True, source="in_store",
        at=now - dt.timedelta(days=5),
    )
    history = list(customer.consents.all())
    assert len(history) == 3  # append-only: the withdrawal does not erase the grant
    current = current_consents(history)
    assert current[("marketing", "sms")].granted is False
    assert current[("marketing", "sms")].source == "opt_out"
    assert current[("service", "sms")].granted is True
    assert AuditEvent.objects.filter(customer=customer, action="consent.withdrawn").count() == 1


@pytest.mark.parametrize(
    ("override", "field"),
    [({"purpose": "x"}, "purpose"), ({"channel": "fax"}, "channel"), ({"source": "guess"}, "source")],
)
def test_consent_refusals(world, override, field):
    customer = create(world)
    data = {"purpose": "service", "channel": "sms", "granted": True, "source": "in_store", **override}
    with pytest.raises(ValidationFailed) as exc:
        consent_record(actor=world.advisor, customer=customer, **data)
    assert exc.value.field == field
    assert customer.consents.count() == 0


def test_consent_in_the_future_is_refused(world):
    customer = create(world)
    with pytest.raises(ValidationFailed) as exc:
        consent_record(
            actor=world.advisor, customer=customer, purpose="service", channel="sms", granted=True,
            source="in_store", at=timezone.now() + dt.timedelta(days=1),
        )
    assert exc.value.field == "at"


# ---- export ------------------------------------------------------------------------------------------------
def test_export_contains_vehicles_readings_orders_and_is_audited(world):
    customer = create(world, consents=[{"purpose": "service", "channel": "sms", "granted": True, "source": "in_store"}])
    vehicle = VehicleFactory(owner=customer, plate="粤B12345")
    mileage_record(actor=world.advisor, vehicle=vehicle, km=12000, read_at=timezone.now() - dt.timedelta(days=30))
    repair_order_record_visit(
        actor=world.advisor, store=world.a, customer=customer, vehicle=vehicle, opened_at=timezone.now(),
        mileage=15000,
        jobs=[{"title": "保养", "lines": [{"kind": "labour", "description": "机油更换", "quantity": 1, "unit_price": "200"}]}],
    )
    data = customer_export(actor=world.manager, customer=customer)
    assert data["customer"]["mobile"] == "+8613812345678"
    assert data["consents"][0]["purpose"] == "service"
    assert [v["vin"] for v in data["vehicles"]] == [vehicle.vin]
    assert sorted(r["km"] for r in data["vehicles"][0]["mileage_readings"]) == [12000, 15000]
    assert len(data["repair_orders"]) == 1
    assert data["repair_orders"][0]["total"] == "200.00"
    assert data["repair_orders"][0]["lines"][0]["description"] == "机油更换"
    assert data["stores"] == ["Store A"]
    event = AuditEvent.objects.get(action="customer.exported")
    assert (event.actor_id, event.customer_id) == (world.manager.pk, customer.pk)


def test_export_requires_permission(world):
    customer = create(world)
    for role in ("service_advisor", "technician", "cashier", "call_centre_agent"):
        with pytest.raises(Forbidden):
            customer_export(actor=world.staff[role], customer=customer)
    assert not AuditEvent.objects.filter(action="customer.exported").exists()


# ---- permissions per role ----------------------------------------------------------------------------------
CAN_CREATE = {"service_advisor", "store_manager", "group_admin", "call_centre_agent"}  # phone booking of new callers (issue 14)
CAN_UPDATE = {"service_advisor", "store_manager", "group_admin", "call_centre_agent"}
CAN_CONSENT = CAN_UPDATE


@pytest.mark.parametrize(
    "role",
    ["service_advisor", "technician", "foreman", "qc_inspector", "parts_clerk", "cashier", "call_centre_agent",
     "store_manager", "group_admin"],
)
def test_permissions_per_role(world, role):
    actor = world.staff[role]
    if role in CAN_CREATE:
        customer = create(world, actor=actor)
    else:
        with pytest.raises(Forbidden) as exc:
            create(world, actor=actor)
        assert exc.value.code == "permission_denied"
        assert Customer.objects.count() == 0
        customer = create(world)
    if role in CAN_UPDATE:
        customer_update(actor=actor, customer=customer, notes="changed")
    else:
        with pytest.raises(Forbidden):
            customer_update(actor=actor, customer=customer, notes="changed")
        customer.refresh_from_db()
        assert customer.notes == ""
    consent = {"purpose": "service", "channel": "sms", "granted": True, "source": "phone"}
    if role in CAN_CONSENT:
        consent_record(actor=actor, customer=customer, **consent)
    else:
        with pytest.raises(Forbidden):
            consent_record(actor=actor, customer=customer, **consent)
        assert customer.consents.count() == 0


# ---- concurrency -------------------------------------------------------------------------------------------
def run_in_threads(*targets):
    """Run callables at the same moment, each on its own DB connection; return their results or errors."""
    barrier = threading.Barrier(len(targets))
    results: list = [None] * len(targets)

    def runner(i, target):
        try:
            barrier.wait()
            results[i] = target()
        except Exception as exc:
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=runner, args=(i, t)) for i, t in enumerate(targets)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_creates_of_the_same_mobile_give_one_customer(world):
    def attempt(user_id, store, name, mobile):
        def go():
            return customer_create(actor=User.objects.get(pk=user_id), store=store, name=name, mobile=mobile)

        return go

    results = run_in_threads(
        attempt(world.advisor.pk, world.a, "张三", "13812345678"),
        attempt(world.advisor_b.pk, world.b, "张叁", "+86 138 1234 5678"),
    )
    created = [r for r in results if isinstance(r, Customer)]
    conflicts = [r for r in results if isinstance(r, Conflict)]
    assert len(created) == 1, results
    assert len(conflicts) == 1, results
    assert conflicts[0].code == "duplicate_mobile"
    assert Customer.objects.filter(mobile="+8613812345678").count() == 1
    assert AuditEvent.objects.filter(action="customer.created").count() == 1


def test_factories_build_a_consistent_customer(world):
    customer = CustomerFactory(home_store=world.a)
    assert customer.group_id == world.group.pk
    assert customer.store_links.filter(store=world.a).exists()
