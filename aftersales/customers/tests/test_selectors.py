"""Customer reads: the search box, store scoping, the 360 view with a fixed query count, completeness."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.utils import timezone

from aftersales.common.errors import NotFound
from aftersales.common.tests.factories import CustomerFactory, VehicleFactory, make_vin
from aftersales.customers.selectors import (
    completeness_report,
    customer_get,
    customer_list,
    customer_search,
    customers_visible_to,
)
from aftersales.customers.services import consent_record, customer_update
from aftersales.staff.models import User
from aftersales.vehicles.services import vehicle_transfer
from aftersales.web.customer360 import customer_360
from aftersales.workshop.services import repair_order_record_visit

pytestmark = pytest.mark.django_db

VIN_A = "1M8GDM9AXKP042788"


def authcache_cold(user):
    from aftersales.common import authcache

    authcache.bump()
    user._auth_gen = None


def fresh(user):
    """The same user without cached permissions or store ids (on the object nor in the shared auth cache,
    common/authcache.py), so query counts include the same lookups."""
    from aftersales.common import authcache

    user = User.objects.get(pk=user.pk)
    authcache.bump()
    return user


def ids(found):
    return {c.pk for c in found}


@pytest.fixture
def people(world):
    wang = CustomerFactory(home_store=world.a, name="王小明", mobile="+8613912345678", mobile_digits="13912345678")
    ouyang = CustomerFactory(home_store=world.a, name="欧阳小明", mobile="+8618600001111", mobile_digits="18600001111")
    alice = CustomerFactory(home_store=world.b, name="Alice Walker", mobile="+447911123456", mobile_digits="447911123456")
    other = CustomerFactory(home_store=world.a, name="李四", mobile="+8615000000000", mobile_digits="15000000000")
    car = VehicleFactory(owner=wang, vin=VIN_A, plate="粤B7K2M9")
    return {"wang": wang, "ouyang": ouyang, "alice": alice, "other": other, "car": car}


# ---- search ------------------------------------------------------------------------------------------------
def test_search_by_two_character_name_prefix(world, people):
    found = ids(customer_search(world.admin, "王小"))
    assert people["wang"].pk in found
    assert people["ouyang"].pk not in found  # two characters match the start of the name only


def test_search_by_longer_name_substring(world, people):
    found = ids(customer_search(world.admin, "阳小明"))
    assert found == {people["ouyang"].pk}
    assert ids(customer_search(world.admin, "小明")) == set()  # 2 chars: prefix only
    assert ids(customer_search(world.admin, "walk")) == {people["alice"].pk}


def test_search_by_last_four_digits_of_mobile(world, people):
    found = ids(customer_search(world.admin, "5678"))
    assert people["wang"].pk in found
    assert people["other"].pk not in found


def test_search_by_middle_digits_of_mobile(world, people):
    found = ids(customer_search(world.admin, "1234"))
    assert people["wang"].pk in found
    assert people["ouyang"].pk not in found
    assert people["wang"].pk in ids(customer_search(world.admin, "139 1234"))  # spaces are ignored
    assert people["alice"].pk in ids(customer_search(world.admin, "7911123"))  # foreign numbers too


def test_search_by_plate_fragment(world, people):
    assert ids(customer_search(world.admin, "7k2m")) == {people["wang"].pk}
    assert ids(customer_search(world.admin, "粤B7K")) == {people["wang"].pk}


def test_search_by_vin_fragment(world, people):
    assert ids(customer_search(world.admin, "kp042788")) == {people["wang"].pk}
    assert ids(customer_search(world.admin, "GDM9AX")) == {people["wang"].pk}


def test_search_returns_vehicles_and_ignores_one_character(world, people):
    results = customer_search(world.admin, "王小明")
    assert [c.pk for c in results] == [people["wang"].pk]
    assert [v.vin for v in results[0].vehicles.all()] == [VIN_A]
    assert customer_search(world.admin, "王") == []


def test_search_is_scoped_to_the_users_stores(world, people):
    # Alice is known only at store B; everyone else only at store A.
    assert ids(customer_search(world.advisor_b, "王小明")) == set()
    assert ids(customer_search(world.advisor_b, "5678")) == set()
    assert ids(customer_search(world.advisor_b, "7K2M")) == set()
    assert ids(customer_search(world.advisor_b, "KP042788")) == set()
    assert ids(customer_search(world.advisor_b, "Alice")) == {people["alice"].pk}
    assert ids(customer_search(world.advisor, "Alice")) == set()
    # the group admin sees both stores
    assert ids(customer_search(world.admin, "王小明")) == {people["wang"].pk}
    assert ids(customer_search(world.admin, "Alice")) == {people["alice"].pk}
    assert set(customers_visible_to(world.admin)) == {people[k] for k in ("wang", "ouyang", "alice", "other")}
    assert people["wang"] not in set(customers_visible_to(world.advisor_b))
    assert ids(customer_list(world.advisor_b, q="王小明")) == set()


def test_detail_of_another_stores_customer_is_not_found(world, people):
    with pytest.raises(NotFound):
        customer_get(world.advisor_b, people["wang"].pk)
    with pytest.raises(NotFound):
        customer_360(world.advisor_b, people["wang"].pk)
    assert customer_get(world.admin, people["wang"].pk) == people["wang"]
    assert customer_get(world.advisor, people["wang"].pk) == people["wang"]


def test_customer_of_another_dealer_group_is_invisible_even_to_group_admin(world):
    from aftersales.common.tests.factories import StoreFactory

    stranger = CustomerFactory(home_store=StoreFactory(), name="王小明")
    assert customer_search(world.admin, "王小明") == []
    with pytest.raises(NotFound):
        customer_get(world.admin, stranger.pk)


def test_customer_visiting_store_b_becomes_visible_there(world, people):
    wang, car = people["wang"], people["car"]
    assert ids(customer_search(world.advisor_b, "王小明")) == set()
    repair_order_record_visit(
        actor=world.advisor_b, store=world.b, customer=wang, vehicle=car, opened_at=timezone.now(),
        jobs=[{"title": "洗车", "lines": [{"kind": "fee", "description": "洗车", "unit_price": "30"}]}],
    )
    assert ids(customer_search(fresh(world.advisor_b), "王小明")) == {wang.pk}


# ---- 360 ---------------------------------------------------------------------------------------------------
def add_visits(world, customer, vehicle, n, store=None, technician=None):
    start = timezone.now() - dt.timedelta(days=n + 1)
    for i in range(n):
        repair_order_record_visit(
            actor=world.manager, store=store or world.a, customer=customer, vehicle=vehicle,
            opened_at=start + dt.timedelta(days=i), advisor=world.advisor,
            jobs=[
                {
                    "title": f"保养 {i}", "technician": technician or world.technician,
                    "lines": [
                        {"kind": "labour", "description": "工时", "quantity": "1.5", "unit_price": "120"},
                        {"kind": "part", "code": "OF-1", "description": "机滤", "unit_price": "45.50"},
                    ],
                },
                {"title": "检查", "lines": [{"kind": "fee", "description": "检测费", "unit_price": "50"}]},
            ],
        )


def test_customer_360_returns_everything(world, people):
    wang, car = people["wang"], people["car"]
    add_visits(world, wang, car, 2)
    consent_record(actor=world.advisor, customer=wang, purpose="service", channel="sms", granted=True, source="in_store")
    customer_update(actor=world.advisor, customer=wang, notes="喜欢绿茶")
    view = customer_360(world.manager, wang.pk)
    assert view.customer == wang
    assert [v.pk for v in view.vehicles] == [car.pk]
    assert len(view.orders) == 2
    assert [j.title for j in view.orders[0].jobs.all()] == ["保养 1", "检查"]
    assert view.orders[0].jobs.all()[0].technician == world.technician
    assert len(view.orders[0].jobs.all()[0].lines.all()) == 2
    assert view.totals["visits"] == 2
    assert [c.purpose for c in view.consents] == ["service"]
    assert view.current_consents[("service", "sms")].granted is True
    actions = {a.action for a in view.audit}
    assert {"repair_order.opened", "consent.granted", "customer.updated"} <= actions
    assert [s.pk for s in view.stores] == [world.a.pk]
    assert [o.vehicle_id for o in view.ownership_history] == [car.pk]
    # an advisor has no audit permission: the trail is not shown
    assert customer_360(world.advisor, wang.pk).audit == []


def test_customer_360_keeps_transferred_vehicle_history(world, people):
    wang, ouyang, car = people["wang"], people["ouyang"], people["car"]
    add_visits(world, wang, car, 1)
    vehicle_transfer(actor=world.advisor, vehicle=car, new_owner=ouyang)
    old = customer_360(world.manager, wang.pk)
    assert old.vehicles == []
    assert len(old.orders) == 1  # the old owner's visit stays in their history
    assert old.ownership_history[0].ended_on == timezone.localdate()
    new = customer_360(world.manager, ouyang.pk)
    assert [v.pk for v in new.vehicles] == [car.pk]


def _customer_with_history(world, name, mobile, visits, vehicles):
    customer = CustomerFactory(home_store=world.a, name=name, mobile=mobile, mobile_digits=mobile[3:])
    cars = [VehicleFactory(owner=customer, vin=make_vin(random.Random(f"{name}{i}"))) for i in range(vehicles)]
    add_visits(world, customer, cars[0], visits)
    for i in range(visits):
        consent_record(
            actor=world.advisor, customer=customer, purpose="marketing", channel="sms", granted=bool(i % 2),
            source="phone",
        )
    return customer


def test_customer_360_query_count_does_not_grow_with_history(world, django_assert_num_queries):
    small = _customer_with_history(world, "赵一", "+8613700000001", visits=1, vehicles=1)
    large = _customer_with_history(world, "钱二", "+8613700000002", visits=30, vehicles=3)
    for user in (world.manager, world.advisor):
        user_small, user_large = fresh(user), fresh(user)
        with django_assert_num_queries(QUERIES_360[user is world.manager]) as ctx_small:
            view_small = customer_360(user_small, small.pk)
            _touch_360(view_small)
        authcache_cold(user_large)
        with django_assert_num_queries(len(ctx_small.captured_queries)):
            view_large = customer_360(user_large, large.pk)
            _touch_360(view_large)
        assert len(view_small.orders) == 1
        assert len(view_large.orders) == 30
        assert len(view_large.vehicles) == 3


# customer 360 budget: perms (1), store ids (1), customer, tags, vehicles, ownership, orders, jobs, lines, visit totals,
# consents, stores list, messages, fitted parts, and (with the audit permission) the audit trail; the 30-visit
# customer must match.
QUERIES_360 = {True: 15, False: 14}


def _touch_360(view):
    """Read everything the 360 template reads, so a lazy relation would show up as an extra query."""
    for order in view.orders:
        _ = (order.store.name, order.vehicle.plate, order.advisor, getattr(order, "invoice", None))
        for job in order.jobs.all():
            _ = job.technician
            for line in job.lines.all():
                _ = line.amount
    for vehicle in view.vehicles:
        _ = vehicle.selling_store
    for event in view.audit:
        _ = event.actor
    for consent in view.consents:
        _ = consent.recorded_by
    for row in view.ownership_history:
        _ = row.vehicle.vin
    _ = list(view.customer.tags.all()), view.customer.home_store, view.customer.preferred_advisor


def test_customer_search_query_count_does_not_grow_with_history(world, django_assert_num_queries):
    _customer_with_history(world, "孙三", "+8613700000003", visits=1, vehicles=1)
    _customer_with_history(world, "孙三三", "+8613700000004", visits=30, vehicles=3)
    user_small, user_large = fresh(world.advisor), fresh(world.advisor)
    with django_assert_num_queries(QUERIES_NAME_PREFIX_SEARCH):
        small = customer_search(user_small, "孙三")  # prefix: both customers
        _ = [(v.plate, v.vin) for c in small for v in c.vehicles.all()]
    assert len(small) == 2
    authcache_cold(user_large)
    with django_assert_num_queries(QUERIES_SEARCH):
        single = customer_search(user_large, "13700000004")
        _ = [(v.plate, v.vin) for c in single for v in c.vehicles.all()]
    assert len(single) == 1
    assert len(single[0].vehicles.all()) == 3


# search budget: perms (1), stores (1), name or mobile branch, vehicle branch, customers, their vehicles.
QUERIES_SEARCH = 6
# a 1–2 character Chinese name is never a plate, so the vehicle branch is not run
QUERIES_NAME_PREFIX_SEARCH = 5


# ---- completeness ------------------------------------------------------------------------------------------
def test_completeness_report_counts_incomplete_customers(world):
    complete = CustomerFactory(home_store=world.a)
    VehicleFactory(owner=complete)
    no_vehicle = CustomerFactory(home_store=world.a)
    no_plate = CustomerFactory(home_store=world.a)
    VehicleFactory(owner=no_plate, plate="")
    CustomerFactory(home_store=world.b)  # store B only: outside store A's report
    report = completeness_report(world.manager)
    assert report == {"total": 3, "incomplete": 2, "complete_pct": 33.3}
    assert ids(customer_list(world.manager, incomplete=True)) == {no_vehicle.pk, no_plate.pk}
    assert completeness_report(world.admin)["total"] == 4
    assert completeness_report(world.admin)["incomplete"] == 3
    assert completeness_report(world.manager_b) == {"total": 1, "incomplete": 1, "complete_pct": 0.0}


def test_completeness_report_for_empty_store(world):
    assert completeness_report(world.manager) == {"total": 0, "incomplete": 0, "complete_pct": 100.0}


def test_search_rules_that_keep_it_indexed(world):
    """Chinese text is matched against plates only as a plate prefix (粤B…); 2-character fragments never as substrings."""
    from aftersales.common.tests.factories import make_vin
    from aftersales.customers.services import customer_create
    from aftersales.vehicles.services import vehicle_create

    c = customer_create(actor=world.advisor, store=world.a, name="王辉", mobile="13811112222")
    vehicle_create(actor=world.advisor, owner=c, vin=make_vin(), plate="粤B7E873", make="BYD", model="Han")
    user = fresh(world.advisor)
    assert [x.pk for x in customer_search(user, "粤B7")] == [c.pk]
    assert [x.pk for x in customer_search(user, "粤b7e")] == [c.pk]
    assert [x.pk for x in customer_search(user, "王辉")] == [c.pk]
    assert [x.pk for x in customer_search(user, "7E873")] == [c.pk]
    assert customer_search(user, "7E") == []  # too short for a substring match
    assert customer_search(user, "B7E8")[0].pk == c.pk
