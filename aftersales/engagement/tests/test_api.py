"""/api/engagement/: 401 for everything anonymous, other store → 404, wrong role → 403, bad input → 4xx."""

from __future__ import annotations

import datetime as dt

import pytest

from aftersales.common.tests.api_helpers import ENDPOINTS, Api, assert_error, fill, ids
from aftersales.common.tests.factories import CustomerFactory, VehicleFactory
from aftersales.engagement.models import DedicatedAdvisor, Segment
from aftersales.engagement.services import import_job_create, tier_recompute_all

from .helpers import imported, paid_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def cust_a(world):
    customer = CustomerFactory(home_store=world.a, name="张伟")
    for day in (dt.date(2026, 3, 1), dt.date(2026, 5, 1), dt.date(2026, 7, 1), dt.date(2026, 8, 1)):
        imported(customer, day, "4000")
    return customer


@pytest.fixture
def cust_b(world):
    customer = CustomerFactory(home_store=world.b, name="李娜")
    imported(customer, dt.date(2026, 8, 1), "300")
    return customer


@pytest.mark.parametrize(("method", "path"), ENDPOINTS["engagement"], ids=lambda v: str(v))
def test_unauthenticated_is_401(world, cust_a, method, path):
    assert_error(Api.anonymous().request(method, fill(path, cust_a.pk), {}), 401, "unauthenticated")


def test_tier_as_of_any_date(world, cust_a):
    api = Api.session(world.advisor)
    body = api.get(f"/api/engagement/customers/{cust_a.pk}/tier", {"as_of": "2026-08-31"}).json()
    assert (body["tier"], body["f"], body["m"], body["r_days"], body["reason"], body["priority"]) == (
        "A", 4, "16000.00", 30, "a_loyal", True)
    assert "F 4" in body["why"]
    earlier = api.get(f"/api/engagement/customers/{cust_a.pk}/tier", {"as_of": "2026-03-15"}).json()
    assert (earlier["tier"], earlier["reason"]) == ("C", "c_first_visit")
    assert_error(api.get(f"/api/engagement/customers/{cust_a.pk}/tier", {"as_of": "31/08/2026"}), 422, field="as_of")


def test_other_store_customer_is_404(world, cust_a, cust_b):
    api = Api.session(world.advisor)
    assert_error(api.get(f"/api/engagement/customers/{cust_b.pk}/tier"), 404)
    assert_error(api.get(f"/api/engagement/customers/{cust_b.pk}/tier-history"), 404)
    assert_error(Api.session(world.manager).request(
        "put", f"/api/engagement/customers/{cust_b.pk}/dedicated-advisor", {"advisor_id": world.advisor.pk}), 404)
    assert Api.session(world.admin).get(f"/api/engagement/customers/{cust_b.pk}/tier").status_code == 200


def test_wrong_role_is_403(world, cust_a):
    tech = Api.session(world.technician)
    assert_error(tech.get(f"/api/engagement/customers/{cust_a.pk}/tier"), 403)
    assert_error(tech.get("/api/engagement/segments"), 403)
    assert_error(tech.get("/api/engagement/report"), 403)
    advisor = Api.session(world.advisor)
    assert_error(advisor.request("put", f"/api/engagement/customers/{cust_a.pk}/dedicated-advisor",
                                 {"advisor_id": world.advisor.pk}), 403)
    assert_error(advisor.post("/api/engagement/segments", {"name": "x", "criteria": {}}), 403)
    assert Segment.objects.count() == 0


def test_dedicated_advisor(world, cust_a):
    api = Api.session(world.manager)
    response = api.request("put", f"/api/engagement/customers/{cust_a.pk}/dedicated-advisor",
                           {"advisor_id": world.advisor.pk})
    assert response.status_code == 200, response.content
    assert DedicatedAdvisor.objects.get(customer=cust_a).source == "manager"
    assert_error(api.request("put", f"/api/engagement/customers/{cust_a.pk}/dedicated-advisor",
                             {"advisor_id": world.advisor_b.pk}), 422, field="advisor")  # another store's advisor


def test_tier_history(world, cust_a):
    tier_recompute_all(as_of=dt.date(2026, 8, 31))
    body = Api.session(world.advisor).get(f"/api/engagement/customers/{cust_a.pk}/tier-history").json()
    assert [(c["old_tier"], c["new_tier"], c["f"]) for c in body] == [("", "A", 4)]


def test_segments_scoped_and_validated(world, cust_a, cust_b):
    tier_recompute_all(as_of=dt.date(2026, 8, 31))
    api = Api.session(world.manager)
    response = api.post("/api/engagement/segments", {"name": "Loyal", "criteria": {"tiers": ["A", "C"]}})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["count"] == 1  # cust_b (C) is at store B, not visible to this manager
    assert ids(api.get(f"/api/engagement/segments/{body['id']}/customers")) == {cust_a.pk}
    assert ids(Api.session(world.admin).get(f"/api/engagement/segments/{body['id']}/customers")) == {cust_a.pk, cust_b.pk}
    assert_error(api.post("/api/engagement/segments", {"name": "Bad", "criteria": {"tiers": ["E"]}}), 422, field="tiers")
    assert_error(api.post("/api/engagement/segments", {"name": "Bad", "criteria": {"store": world.b.pk}}), 422,
                 field="store")
    assert_error(api.post("/api/engagement/segments", {"name": "", "criteria": {}}), 422, field="name")
    assert Segment.objects.count() == 1
    own = Segment.objects.create(group=world.group, store=world.b, name="B only", criteria={})
    assert_error(api.get(f"/api/engagement/segments/{own.pk}"), 404)


def test_report(world, cust_a, cust_b):
    tier_recompute_all(as_of=dt.date(2026, 8, 31))
    body = Api.session(world.manager).get("/api/engagement/report", {"month": "2026-08"}).json()
    assert [(r["store_id"], r["counts"]["A"]) for r in body["tiers"]] == [(world.a.pk, 1)]
    row = next(r for r in body["matrix"] if r["from"] == "—")
    assert row["to"] == [1, 0, 0, 0]  # new customers entering A
    assert_error(Api.session(world.manager).get("/api/engagement/report", {"month": "August"}), 422, field="month")


def test_import_progress_scoped(world):
    data = b"date,mobile,name,vin,make,model,amount\n2026-01-02,13800138000,A,,X,Y,10\n"
    job, _preview = import_job_create(actor=world.manager_b, store=world.b, name="h.csv", data=data)
    assert_error(Api.session(world.manager).get(f"/api/engagement/imports/{job.pk}"), 404)
    body = Api.session(world.manager_b).get(f"/api/engagement/imports/{job.pk}").json()
    assert (body["status"], body["total_rows"], body["errors"][0]["field"]) == ("previewed", 1, "vin")


def test_repair_order_visits_count_in_api(world):
    customer = CustomerFactory(home_store=world.a)
    car = VehicleFactory(owner=customer)
    paid_order(world, customer, car, dt.date(2026, 8, 20), "5000")
    body = Api.session(world.advisor).get(f"/api/engagement/customers/{customer.pk}/tier",
                                          {"as_of": "2026-08-31"}).json()
    assert (body["tier"], body["m"]) == ("C", "5000.00")
