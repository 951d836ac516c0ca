"""API tests for /api/customers/: scoping per store, masking per role, validation without partial writes."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from aftersales.common.models import AuditEvent
from aftersales.common.tests.api_helpers import (
    ENDPOINTS,
    Api,
    assert_error,
    count_queries,
    fill,
    ids,
    token_issuer,
    token_key_for,
)
from aftersales.common.tests.factories import CustomerFactory, VehicleFactory
from aftersales.customers.models import Consent, Customer, CustomerStore, Tag

pytestmark = pytest.mark.django_db

MOBILE = "13812345678"
E164 = "+8613812345678"


@pytest.fixture
def cust_a(world):
    """A customer known only at store A, with a vehicle."""
    customer = CustomerFactory(home_store=world.a, name="张伟", mobile=E164, mobile_digits=MOBILE)
    VehicleFactory(owner=customer, plate="粤B12345")
    return customer


@pytest.fixture
def cust_b(world):
    return CustomerFactory(
        home_store=world.b, name="李娜", mobile="+8613900001111", mobile_digits="13900001111"
    )


def counts():
    return (
        Customer.objects.count(),
        CustomerStore.objects.count(),
        Consent.objects.count(),
        AuditEvent.objects.count(),
    )


def new_customer(**overrides):
    data = {"name": "王芳", "mobile": "139 1234 5678", "email": "wang@Example.COM", "birthday": "1985-03-04"}
    data.update(overrides)
    return data


@pytest.mark.parametrize(("method", "path"), ENDPOINTS["customers"], ids=lambda v: str(v))
def test_unauthenticated_is_401(world, cust_a, method, path):
    before = counts()
    assert_error(
        Api.anonymous().request(method, fill(path, cust_a.pk), new_customer()), 401, "unauthenticated"
    )
    assert counts() == before


# ---- scoping -------------------------------------------------------------------------------------------
def test_list_shows_only_customers_known_at_own_stores(world, cust_a, cust_b):
    assert ids(Api.session(world.advisor).get("/api/customers/")) == {cust_a.pk}
    assert ids(Api.session(world.advisor_b).get("/api/customers/")) == {cust_b.pk}
    assert ids(Api.session(world.admin).get("/api/customers/")) == {cust_a.pk, cust_b.pk}


def test_list_store_filter_cannot_reach_another_store(world, cust_a, cust_b):
    assert ids(Api.session(world.advisor).get("/api/customers/", {"store_id": world.b.pk})) == set()
    assert ids(Api.session(world.admin).get("/api/customers/", {"store_id": world.b.pk})) == {cust_b.pk}


@pytest.mark.parametrize(
    ("method", "suffix", "payload"),
    [
        ("get", "", None),
        ("patch", "", {"name": "Hijacked"}),
        ("post", "/consents", {"purpose": "marketing", "channel": "sms", "granted": True, "source": "phone"}),
        ("get", "/export", None),
    ],
)
def test_customer_of_another_store_is_404(world, cust_a, method, suffix, payload):
    before = counts()
    user = world.manager_b  # a manager: holds every permission these endpoints check
    response = Api.session(user).request(method, f"/api/customers/{cust_a.pk}{suffix}", payload)
    assert_error(response, 404, "not_found")
    assert counts() == before
    cust_a.refresh_from_db()
    assert cust_a.name == "张伟"


def test_advisor_b_gets_404_for_store_a_customer(world, cust_a):
    assert_error(Api.session(world.advisor_b).get(f"/api/customers/{cust_a.pk}"), 404, "not_found")


def test_create_at_a_store_the_user_does_not_work_at_is_404(world):
    before = counts()
    response = Api.session(world.advisor_b).post("/api/customers/", new_customer(store_id=world.a.pk))
    assert_error(response, 404, "not_found")
    assert counts() == before


def test_group_admin_reads_customers_of_both_stores(world, cust_a, cust_b):
    api = Api.session(world.admin)
    assert api.get(f"/api/customers/{cust_a.pk}").status_code == 200
    assert api.get(f"/api/customers/{cust_b.pk}").status_code == 200


def test_search_never_leaks_other_stores(world, cust_a, cust_b):
    api = Api.session(world.advisor_b)
    assert ids(api.get("/api/customers/", {"q": "5678"})) == set()
    assert ids(api.get("/api/customers/", {"q": "12345"})) == set()
    assert ids(api.get("/api/customers/", {"q": "张伟"})) == set()


# ---- masking per role ----------------------------------------------------------------------------------
def test_technician_reads_customers_with_masked_mobile(world, cust_a):
    api = Api.session(world.technician)
    listed = api.get("/api/customers/").json()["items"]
    assert [row["mobile"] for row in listed] == ["138****5678"]
    detail = api.get(f"/api/customers/{cust_a.pk}")
    assert detail.status_code == 200
    assert detail.json()["mobile"] == "138****5678"
    assert MOBILE not in detail.content.decode()


def test_technician_by_token_also_sees_masked_mobile(world, cust_a):
    key = token_key_for(world.technician, actor=token_issuer(world.a))
    assert Api.bearer(key).get(f"/api/customers/{cust_a.pk}").json()["mobile"] == "138****5678"


def test_advisor_sees_full_mobile(world, cust_a):
    api = Api.session(world.advisor)
    assert [row["mobile"] for row in api.get("/api/customers/").json()["items"]] == [MOBILE]
    detail = api.get(f"/api/customers/{cust_a.pk}").json()
    assert detail["mobile"] == MOBILE
    assert detail["store_ids"] == [world.a.pk]
    assert [v["plate"] for v in detail["vehicles"]] == ["粤B12345"]


# ---- permissions per role ------------------------------------------------------------------------------
def test_technician_cannot_create_or_update_customers(world, cust_a):
    api = Api.session(world.technician)
    before = counts()
    assert_error(api.post("/api/customers/", new_customer()), 403, "permission_denied")
    assert_error(api.patch(f"/api/customers/{cust_a.pk}", {"name": "Changed"}), 403, "permission_denied")
    assert_error(api.post("/api/customers/attach", {"mobile": MOBILE}), 403, "permission_denied")
    consent = {"purpose": "marketing", "channel": "sms", "granted": True, "source": "phone"}
    assert_error(api.post(f"/api/customers/{cust_a.pk}/consents", consent), 403, "permission_denied")
    assert counts() == before
    cust_a.refresh_from_db()
    assert cust_a.name == "张伟"


@pytest.mark.parametrize("role", ["service_advisor", "technician", "cashier", "call_centre_agent"])
def test_only_managers_export_and_see_completeness(world, cust_a, role):
    api = Api.session(world.staff[role])
    assert_error(api.get(f"/api/customers/{cust_a.pk}/export"), 403, "permission_denied")
    assert_error(api.get("/api/customers/completeness"), 403, "permission_denied")
    assert not AuditEvent.objects.filter(action="customer.exported").exists()


@pytest.mark.parametrize("who", ["manager", "admin"])
def test_manager_and_group_admin_export_customer_with_vehicles(world, cust_a, who):
    response = Api.session(getattr(world, who)).get(f"/api/customers/{cust_a.pk}/export")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert response["Content-Disposition"] == f'attachment; filename="customer-{cust_a.pk}.json"'
    data = response.json()
    assert data["customer"]["id"] == cust_a.pk
    assert data["customer"]["mobile"] == E164
    assert [v["plate"] for v in data["vehicles"]] == ["粤B12345"]
    assert data["vehicles"][0]["is_current_owner"] is True
    assert AuditEvent.objects.filter(action="customer.exported", customer_id=cust_a.pk).count() == 1


def test_completeness_is_scoped(world, cust_a, cust_b):
    CustomerFactory(home_store=world.a, name="No car")
    body = Api.session(world.manager).get("/api/customers/completeness").json()
    assert body == {"total": 2, "incomplete": 1, "complete_pct": 50.0}
    assert Api.session(world.manager_b).get("/api/customers/completeness").json()["total"] == 1
    assert Api.session(world.admin).get("/api/customers/completeness").json()["total"] == 3


# ---- create --------------------------------------------------------------------------------------------
def test_advisor_creates_customer_mobile_stored_as_e164(world):
    consent = {"purpose": "service", "channel": "sms", "granted": True, "source": "in_store"}
    response = Api.session(world.advisor).post("/api/customers/", new_customer(consents=[consent]))
    assert response.status_code == 201, response.content
    body = response.json()
    customer = Customer.objects.get(pk=body["id"])
    assert customer.mobile == "+8613912345678"
    assert customer.mobile_digits == "13912345678"
    assert customer.email == "wang@example.com"
    assert customer.home_store_id == world.a.pk
    assert body["mobile"] == "13912345678"
    assert body["birthday"] == "1985-03-04"
    assert body["store_ids"] == [world.a.pk]
    assert [(c["purpose"], c["channel"], c["granted"]) for c in body["consents"]] == [
        ("service", "sms", True)
    ]
    assert AuditEvent.objects.filter(action="customer.created", customer_id=customer.pk).count() == 1


def test_create_by_token(world):
    key = token_key_for(world.advisor, actor=world.manager)
    response = Api.bearer(key).post("/api/customers/", new_customer(mobile=MOBILE))
    assert response.status_code == 201
    assert response.json()["mobile"] == MOBILE


def test_create_at_second_store_for_group_admin(world):
    response = Api.session(world.admin).post("/api/customers/", new_customer(store_id=world.b.pk))
    assert response.status_code == 201
    assert response.json()["home_store_id"] == world.b.pk


@pytest.mark.parametrize(
    ("changes", "status", "code", "field"),
    [
        ({"mobile": "12345"}, 422, "mobile_invalid", "mobile"),
        ({"mobile": "not a phone"}, 422, "mobile_format", "mobile"),
        ({"mobile": "010 6552 9988"}, 422, "mobile_not_mobile", "mobile"),
        ({"mobile": ""}, 422, "mobile_required", "mobile"),
        ({"name": "  "}, 422, "name_required", "name"),
        ({"name": "x" * 61}, 422, "name_too_long", "name"),
        ({"email": "not-an-email"}, 422, "email_invalid", "email"),
        ({"birthday": "2999-01-01"}, 422, "date_in_future", "birthday"),
        ({"birthday": "04/03/1985"}, 422, "date_format", "birthday"),
        ({"birthday": "1800-01-01"}, 422, "date_too_early", "birthday"),
        ({"title": "dr"}, 422, "invalid_choice", "title"),
        ({"preferred_channel": "fax"}, 422, "invalid_choice", "preferred_channel"),
        ({"preferred_advisor_id": 999999}, 422, "advisor_unknown", "preferred_advisor"),
        ({"preferred_advisor_id": "abc"}, 422, "invalid", "preferred_advisor_id"),
        ({"birthday": 19850304}, 422, "invalid", "birthday"),
        ({"name": None}, 422, "invalid", "name"),
        ({"consents": "yes"}, 422, "invalid", "consents"),
    ],
)
def test_create_bad_input_names_the_field_and_writes_nothing(world, changes, status, code, field):
    before = counts()
    response = Api.session(world.advisor).post("/api/customers/", new_customer(**changes))
    assert_error(response, status, code, field)
    assert counts() == before


def test_create_with_advisor_of_another_store_is_refused(world):
    before = counts()
    response = Api.session(world.advisor).post(
        "/api/customers/", new_customer(preferred_advisor_id=world.advisor_b.pk)
    )
    assert_error(response, 422, "advisor_unknown", "preferred_advisor")
    assert counts() == before


def test_create_with_one_invalid_consent_creates_nothing(world):
    consents = [
        {"purpose": "service", "channel": "sms", "granted": True, "source": "in_store"},
        {"purpose": "marketing", "channel": "pigeon", "granted": True, "source": "in_store"},
    ]
    before = counts()
    response = Api.session(world.advisor).post("/api/customers/", new_customer(consents=consents))
    assert_error(response, 422, "invalid_choice", "channel")
    assert counts() == before
    assert not Customer.objects.filter(mobile="+8613912345678").exists()


def test_create_with_consent_missing_a_key_is_422(world):
    before = counts()
    response = Api.session(world.advisor).post(
        "/api/customers/", new_customer(consents=[{"purpose": "service", "channel": "sms", "granted": True}])
    )
    body = assert_error(response, 422, "invalid")
    assert body["field"] == "consents.0.source"
    assert counts() == before


def test_duplicate_mobile_is_409(world, cust_a):
    before = counts()
    response = Api.session(world.advisor).post("/api/customers/", new_customer(mobile="+86 138-1234-5678"))
    body = assert_error(response, 409, "duplicate_mobile", "mobile")
    assert body["existing_id"] == cust_a.pk
    assert counts() == before


def test_duplicate_mobile_across_stores_of_the_group_is_409(world, cust_a):
    before = counts()
    response = Api.session(world.advisor_b).post("/api/customers/", new_customer(mobile=MOBILE))
    assert_error(response, 409, "duplicate_mobile", "mobile")
    assert counts() == before


def test_malformed_json_is_4xx(world):
    before = counts()
    response = Api.session(world.advisor).client.post(
        "/api/customers/", "{not json", content_type="application/json"
    )
    assert 400 <= response.status_code < 500
    assert counts() == before


# ---- update --------------------------------------------------------------------------------------------
def test_patch_customer_writes_an_audit_row(world, cust_a):
    api = Api.session(world.advisor)
    response = api.patch(
        f"/api/customers/{cust_a.pk}", {"name": "张伟伟", "email": "z@example.com", "reason": "typo"}
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["name"] == "张伟伟"
    assert body["mobile"] == MOBILE  # untouched fields stay
    event = AuditEvent.objects.get(action="customer.updated", customer_id=cust_a.pk)
    assert event.actor_id == world.advisor.pk
    assert event.reason == "typo"
    assert set(event.changes) == {"name", "email"}


def test_patch_with_no_change_writes_no_audit_row(world, cust_a):
    response = Api.session(world.advisor).patch(f"/api/customers/{cust_a.pk}", {"name": "张伟"})
    assert response.status_code == 200
    assert not AuditEvent.objects.filter(action="customer.updated").exists()


def test_patch_mobile_normalises_and_checks_duplicates(world, cust_a, cust_b):
    api = Api.session(world.admin)
    response = api.patch(f"/api/customers/{cust_a.pk}", {"mobile": "+86 139 0000 1111"})
    assert_error(response, 409, "duplicate_mobile", "mobile")
    cust_a.refresh_from_db()
    assert cust_a.mobile == E164
    response = api.patch(f"/api/customers/{cust_a.pk}", {"mobile": "139-8765-4321"})
    assert response.status_code == 200
    cust_a.refresh_from_db()
    assert (cust_a.mobile, cust_a.mobile_digits) == ("+8613987654321", "13987654321")


@pytest.mark.parametrize(
    ("changes", "code", "field"),
    [
        ({"mobile": "12"}, "mobile_invalid", "mobile"),
        ({"email": "bad@"}, "email_invalid", "email"),
        ({"birthday": "tomorrow"}, "date_in_future", "birthday"),  # the test's own tomorrow (its clock, not collection's)
        ({"name": ""}, "name_required", "name"),
        ({"preferred_advisor_id": "x"}, "invalid", "preferred_advisor_id"),
    ],
)
def test_patch_bad_input_changes_nothing(world, cust_a, changes, code, field):
    if changes.get("birthday") == "tomorrow":
        changes = {**changes, "birthday": (timezone.localdate() + dt.timedelta(days=1)).isoformat()}
    before = counts()
    response = Api.session(world.advisor).patch(
        f"/api/customers/{cust_a.pk}", {"address": "New road 1", **changes}
    )
    assert_error(response, 422, code, field)
    assert counts() == before
    cust_a.refresh_from_db()
    assert cust_a.address == ""


def test_call_centre_may_update_and_create_but_cashier_not_create(world, cust_a):
    """Phone booking is the call centre's core task: it registers new callers (issue 14, item 3)."""
    api = Api.session(world.staff["call_centre_agent"])
    assert api.patch(f"/api/customers/{cust_a.pk}", {"notes": "prefers mornings"}).status_code == 200
    assert api.post("/api/customers/", new_customer()).status_code == 201
    assert_error(Api.session(world.staff["cashier"]).post("/api/customers/", new_customer(mobile="13900001111")), 403, "permission_denied")


# ---- attach to another store ---------------------------------------------------------------------------
def _texted_code(customer):
    import re

    from aftersales.messaging.models import Message

    message = Message.objects.filter(customer=customer, kind="customer.attach_code").latest("id")
    return re.search(r"\b(\d{6})\b", message.body).group(1)


def test_attach_existing_group_customer_to_another_store(world, cust_a, django_capture_on_commit_callbacks):
    """Another store sees the customer only after the customer confirms with the code texted to them (issue 13); the
    code goes out through messaging's handler of the AttachCodeIssued event, after commit."""
    api = Api.session(world.advisor_b)
    assert_error(api.get(f"/api/customers/{cust_a.pk}"), 404, "not_found")
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/api/customers/attach", {"mobile": "138 1234 5678"})
    assert response.status_code == 202, response.content
    pending = response.json()
    assert pending["mobile_masked"] != MOBILE and "5678" in pending["mobile_masked"] and "name" not in pending
    assert_error(api.get(f"/api/customers/{cust_a.pk}"), 404, "not_found")  # nothing visible yet
    code = _texted_code(cust_a)
    wrong = "000000" if code != "000000" else "111111"
    assert_error(api.post(f"/api/customers/attach/{pending['attach_id']}/confirm", {"code": wrong}), 422, "code_wrong", "code")
    assert_error(api.post(f"/api/customers/attach/{pending['attach_id']}/confirm", {"code": "12ab"}), 422, "code_format", "code")
    assert CustomerStore.objects.filter(customer=cust_a).count() == 1
    response = api.post(f"/api/customers/attach/{pending['attach_id']}/confirm", {"code": code})
    assert response.status_code == 200, response.content
    assert response.json()["store_ids"] == [world.a.pk, world.b.pk]
    assert api.get(f"/api/customers/{cust_a.pk}").status_code == 200
    assert cust_a.pk in ids(api.get("/api/customers/"))
    assert AuditEvent.objects.filter(action="customer.store_linked", customer_id=cust_a.pk).count() == 1
    # Attaching again is harmless: already known, no code, no second link, no second audit row.
    assert api.post("/api/customers/attach", {"mobile": MOBILE}).status_code == 200
    assert CustomerStore.objects.filter(customer=cust_a).count() == 2
    assert AuditEvent.objects.filter(action="customer.store_linked").count() == 1


def test_three_wrong_codes_spend_it_and_a_manager_may_approve_with_a_reason(world, cust_a, django_capture_on_commit_callbacks):
    api = Api.session(world.advisor_b)
    with django_capture_on_commit_callbacks(execute=True):
        attach_id = api.post("/api/customers/attach", {"mobile": MOBILE}).json()["attach_id"]
    code = _texted_code(cust_a)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(3):
        api.post(f"/api/customers/attach/{attach_id}/confirm", {"code": wrong})
    assert_error(api.post(f"/api/customers/attach/{attach_id}/confirm", {"code": code}), 422, "code_wrong", "code")
    assert_error(api.post(f"/api/customers/attach/{attach_id}/approve", {"reason": "phoned in"}), 403, "permission_denied")
    manager = Api.session(world.manager_b)
    assert_error(manager.post(f"/api/customers/attach/{attach_id}/approve", {"reason": " "}), 422, "reason_required", "reason")
    assert_error(Api.session(world.manager).post(f"/api/customers/attach/{attach_id}/approve", {"reason": "x"}), 404, "not_found")
    assert CustomerStore.objects.filter(customer=cust_a, store=world.b).count() == 0
    response = manager.post(f"/api/customers/attach/{attach_id}/approve", {"reason": "customer phoned, no signal"})
    assert response.status_code == 200 and response.json()["store_ids"] == [world.a.pk, world.b.pk]
    event = AuditEvent.objects.get(action="customer.store_linked", customer_id=cust_a.pk)
    assert event.actor == world.manager_b and "no signal" in event.reason


def test_attach_bad_or_unknown_mobile(world, cust_a):
    api = Api.session(world.advisor_b)
    before = counts()
    assert_error(
        api.post("/api/customers/attach", {"mobile": "13700000000"}), 422, "customer_not_found", "mobile"
    )
    assert_error(api.post("/api/customers/attach", {"mobile": "123"}), 422, "mobile_invalid", "mobile")
    assert_error(api.post("/api/customers/attach", {}), 422, "invalid", "mobile")
    assert counts() == before


def test_attach_to_a_store_the_user_does_not_work_at_is_404(world, cust_b):
    before = counts()
    response = Api.session(world.advisor).post(
        "/api/customers/attach", {"mobile": "13900001111", "store_id": world.b.pk}
    )
    assert_error(response, 404, "not_found")
    assert counts() == before


def test_attach_never_reaches_another_dealer_group(world):
    from aftersales.common.tests.factories import StoreFactory

    stranger = CustomerFactory(
        home_store=StoreFactory(), mobile="+8613655556666", mobile_digits="13655556666"
    )
    response = Api.session(world.advisor).post("/api/customers/attach", {"mobile": "13655556666"})
    assert_error(response, 422, "customer_not_found", "mobile")
    assert not CustomerStore.objects.filter(customer=stranger, store=world.a).exists()


# ---- consents ------------------------------------------------------------------------------------------
def test_add_consent_and_the_latest_one_counts(world, cust_a):
    api = Api.session(world.advisor)
    url = f"/api/customers/{cust_a.pk}/consents"
    first = api.post(
        url, {"purpose": "marketing", "channel": "wechat", "granted": True, "source": "in_store"}
    )
    assert first.status_code == 201, first.content
    assert first.json()["granted"] is True
    second = api.post(
        url,
        {"purpose": "marketing", "channel": "wechat", "granted": False, "source": "opt_out", "note": "STOP"},
    )
    assert second.status_code == 201
    consents = api.get(f"/api/customers/{cust_a.pk}").json()["consents"]
    assert [(c["purpose"], c["channel"], c["granted"], c["note"]) for c in consents] == [
        ("marketing", "wechat", False, "STOP")
    ]
    assert AuditEvent.objects.filter(action="consent.withdrawn", customer_id=cust_a.pk).count() == 1


@pytest.mark.parametrize(
    ("payload", "code", "field"),
    [
        (
            {"purpose": "spam", "channel": "sms", "granted": True, "source": "phone"},
            "invalid_choice",
            "purpose",
        ),
        (
            {"purpose": "service", "channel": "fax", "granted": True, "source": "phone"},
            "invalid_choice",
            "channel",
        ),
        (
            {"purpose": "service", "channel": "sms", "granted": True, "source": "rumour"},
            "invalid_choice",
            "source",
        ),
        (
            {"purpose": "service", "channel": "sms", "granted": "maybe", "source": "phone"},
            "invalid",
            "granted",
        ),
        ({"purpose": "service", "channel": "sms", "source": "phone"}, "invalid", "granted"),
    ],
)
def test_add_consent_bad_input(world, cust_a, payload, code, field):
    before = counts()
    assert_error(
        Api.session(world.advisor).post(f"/api/customers/{cust_a.pk}/consents", payload), 422, code, field
    )
    assert counts() == before


# ---- list filters, search, pagination ------------------------------------------------------------------
def test_search_by_plate_fragment_mobile_tail_and_name(world, cust_a):
    other = CustomerFactory(
        home_store=world.a, name="赵敏", mobile="+8613700009999", mobile_digits="13700009999"
    )
    VehicleFactory(owner=other, plate="粤A88888")
    api = Api.session(world.advisor)
    assert ids(api.get("/api/customers/", {"q": "B123"})) == {cust_a.pk}
    assert ids(api.get("/api/customers/", {"q": "5678"})) == {cust_a.pk}
    assert ids(api.get("/api/customers/", {"q": "9999"})) == {other.pk}
    assert ids(api.get("/api/customers/", {"q": "张伟"})) == {cust_a.pk}
    assert ids(api.get("/api/customers/", {"q": "赵"})) == set()  # one character is too short to search
    assert ids(api.get("/api/customers/", {"q": "nobody"})) == set()


def test_filter_by_tag_and_incomplete(world, cust_a):
    lonely = CustomerFactory(home_store=world.a, name="No car")
    vip = Tag.objects.create(group=world.group, name="VIP")
    cust_a.tags.add(vip)
    api = Api.session(world.advisor)
    assert ids(api.get("/api/customers/", {"tag": "VIP"})) == {cust_a.pk}
    assert ids(api.get("/api/customers/", {"incomplete": "true"})) == {lonely.pk}
    assert ids(api.get("/api/customers/", {"incomplete": "false"})) == {cust_a.pk, lonely.pk}
    assert_error(api.get("/api/customers/", {"incomplete": "perhaps"}), 422, "invalid", "incomplete")
    assert_error(api.get("/api/customers/", {"store_id": "abc"}), 422, "invalid", "store_id")


def test_pagination_shape(world):
    for _ in range(30):
        CustomerFactory(home_store=world.a)
    api = Api.session(world.advisor)
    first = api.get("/api/customers/").json()
    assert set(first) == {"items", "count"}
    assert first["count"] == 30
    assert len(first["items"]) == 25
    second = api.get("/api/customers/", {"page": 2}).json()
    assert len(second["items"]) == 5
    assert not {r["id"] for r in first["items"]} & {r["id"] for r in second["items"]}
    assert [r["id"] for r in first["items"]] == sorted((r["id"] for r in first["items"]), reverse=True)


# ---- query counts --------------------------------------------------------------------------------------
def _customers(world, n):
    for _ in range(n):
        customer = CustomerFactory(home_store=world.a)
        VehicleFactory(owner=customer)


@pytest.mark.parametrize("who", ["advisor", "technician", "admin"])
def test_list_query_count_is_the_same_for_3_and_30_rows(world, who):
    api = Api.session(getattr(world, who))
    _customers(world, 3)
    api.get("/api/customers/")
    few, response = count_queries(lambda: api.get("/api/customers/"))
    assert response.json()["count"] == 3
    _customers(world, 27)
    many, response = count_queries(lambda: api.get("/api/customers/"))
    assert response.json()["count"] == 30
    assert len(response.json()["items"]) == 25
    assert many == few


def test_search_query_count_is_the_same_for_3_and_30_matches(world):
    api = Api.session(world.advisor)
    for i in range(3):
        CustomerFactory(home_store=world.a, name=f"Chen {i}")
    api.get("/api/customers/", {"q": "Chen"})  # warm: the auth context is cached after the first request
    few, response = count_queries(lambda: api.get("/api/customers/", {"q": "Chen"}))
    assert response.json()["count"] == 3
    for i in range(3, 30):
        CustomerFactory(home_store=world.a, name=f"Chen {i}")
    api.get("/api/customers/", {"q": "Chen"})  # new stores from the factory bumped the auth cache: warm it again
    many, response = count_queries(lambda: api.get("/api/customers/", {"q": "Chen"}))
    assert response.json()["count"] == 30
    assert many == few


def test_detail_query_count_does_not_grow_with_vehicles_and_consents(world, cust_a):
    api = Api.session(world.advisor)
    url = f"/api/customers/{cust_a.pk}"
    api.get(url)
    few, _response = count_queries(lambda: api.get(url))
    for _ in range(5):
        VehicleFactory(owner=cust_a)
        Consent.objects.create(
            customer=cust_a, purpose="service", channel="sms", granted=True, at=timezone.now(), source="phone"
        )
    many, response = count_queries(lambda: api.get(url))
    assert len(response.json()["vehicles"]) == 6
    assert many == few
