"""API tests for /api/loyalty/: 401 for every endpoint, other store → 404, wrong role → 403, bad input → 4xx naming
the field with nothing written, and the happy paths."""

from __future__ import annotations

import pytest

from aftersales.common.tests.api_helpers import ENDPOINTS, Api, assert_error, fill, ids, token_key_for
from aftersales.loyalty.models import PointsEntry, Referral, Voucher
from aftersales.loyalty.services import points_adjust, referral_create, voucher_issue

from .factories import customer_at, make_invoice, template

pytestmark = pytest.mark.django_db


@pytest.fixture
def zhang(world):
    customer = customer_at(world.a, name="张伟")
    points_adjust(actor=world.manager, customer=customer, store=world.a, points=1200, reason="开户", idempotency_key="o")
    return customer


@pytest.fixture
def li_b(world):
    return customer_at(world.b, name="李娜")


@pytest.mark.parametrize(("method", "path"), ENDPOINTS["loyalty"], ids=lambda v: str(v))
def test_unauthenticated_is_401(world, zhang, method, path):
    assert_error(Api.anonymous().request(method, fill(path, zhang.pk), {}), 401, "unauthenticated")
    assert_error(Api.bearer("as_nonsense").request(method, fill(path, zhang.pk), {}), 401)


def test_balance_and_ledger(world, zhang):
    api = Api.session(world.advisor)
    body = api.get(f"/api/loyalty/customers/{zhang.pk}/balance").json()
    assert body["balance"] == 1200 and body["customer_id"] == zhang.pk
    assert body["expiring"][0]["points"] == 1200
    r = api.get(f"/api/loyalty/customers/{zhang.pk}/ledger")
    assert r.json()["count"] == 1 and r.json()["items"][0]["kind"] == "adjust"


def test_other_stores_customer_is_404(world, zhang, li_b):
    api = Api.session(world.advisor)
    for path in ("balance", "ledger", "vouchers"):
        assert_error(api.get(f"/api/loyalty/customers/{li_b.pk}/{path}"), 404, "not_found")
    manager = Api.session(world.manager)
    t = template(world.group)
    before = PointsEntry.objects.count(), Voucher.objects.count()
    assert_error(manager.post(f"/api/loyalty/customers/{li_b.pk}/adjust", {"points": 5, "reason": "x", "idempotency_key": "k"}), 404)
    assert_error(manager.post("/api/loyalty/vouchers", {"customer_id": li_b.pk, "template_id": t.pk}), 404)
    assert_error(manager.post("/api/loyalty/vouchers", {"customer_id": zhang.pk, "template_id": t.pk, "store_id": world.b.pk}), 404)
    assert (PointsEntry.objects.count(), Voucher.objects.count()) == before


def test_wrong_role_is_403(world, zhang):
    tech = Api.session(world.technician)
    assert_error(tech.get(f"/api/loyalty/customers/{zhang.pk}/balance"), 403, "permission_denied")
    advisor = Api.session(world.advisor)
    t = template(world.group)
    assert_error(advisor.post("/api/loyalty/vouchers", {"customer_id": zhang.pk, "template_id": t.pk}), 403)
    assert_error(advisor.post(f"/api/loyalty/customers/{zhang.pk}/adjust",
                              {"points": 5, "reason": "x", "idempotency_key": "k"}), 403)
    assert not Voucher.objects.exists()


def test_issue_list_and_redeem_check_with_a_token(world, zhang):
    key = token_key_for(world.manager, actor=world.manager)
    api = Api.bearer(key)
    t = template(world.group, kind="percent_labour", percent="30", amount="0")
    r = api.post("/api/loyalty/vouchers", {"customer_id": zhang.pk, "template_id": t.pk, "reason": "生日礼"})
    assert r.status_code == 201, r.content
    code = r.json()["code"]
    assert r.json()["status"] == "issued" and r.json()["name"] == "保养抵用券"
    listed = api.get(f"/api/loyalty/customers/{zhang.pk}/vouchers").json()
    assert [v["code"] for v in listed] == [code]
    invoice = make_invoice(world.a, zhang, lines=[("repair", "labour", "L", "200.00"), ("repair", "part", "P", "100.00")])
    r = api.post("/api/loyalty/vouchers/redeem-check", {"code": code.lower(), "invoice_id": invoice.pk})
    assert r.status_code == 200 and r.json()["discount"] == "60.00"
    assert Voucher.objects.get(code=code).status == "issued"  # a check writes nothing
    # the per-customer limit, in the user's language
    r = api.post("/api/loyalty/vouchers", {"customer_id": zhang.pk, "template_id": t.pk}, headers={"Accept-Language": "zh-hans"})
    body = assert_error(r, 409, "voucher_limit_reached", "template")
    assert Voucher.objects.count() == 1
    assert body["message"]


def test_refusals_speak_the_users_language(world, zhang):
    world.manager.language = "zh-hans"
    world.manager.save(update_fields=["language"])
    api = Api.session(world.manager)
    t = template(world.group)
    voucher_issue(actor=world.manager, customer=zhang, store=world.a, template=t, reason="")
    body = assert_error(api.post("/api/loyalty/vouchers", {"customer_id": zhang.pk, "template_id": t.pk}), 409, "voucher_limit_reached")
    assert "上限" in body["message"], body
    world.manager.language = "en"
    world.manager.save(update_fields=["language"])
    body = assert_error(Api.session(world.manager).post("/api/loyalty/vouchers", {"customer_id": zhang.pk, "template_id": t.pk}), 409)
    assert "limit" in body["message"], body


def test_redeem_check_refusals(world, zhang):
    api = Api.session(world.staff["cashier"])
    li = customer_at(world.a)
    v = voucher_issue(actor=world.manager, customer=zhang, store=world.a, template=template(world.group), reason="")
    other = make_invoice(world.a, li)
    assert_error(api.post("/api/loyalty/vouchers/redeem-check", {"code": v.code, "invoice_id": other.pk}), 422,
                 "voucher_other_customer", "voucher")
    assert_error(api.post("/api/loyalty/vouchers/redeem-check", {"code": "VNOPE", "invoice_id": other.pk}), 404)
    b_invoice = make_invoice(world.b, zhang)
    assert_error(api.post("/api/loyalty/vouchers/redeem-check", {"code": v.code, "invoice_id": b_invoice.pk}), 404)
    assert_error(api.post("/api/loyalty/vouchers/redeem-check", {"code": " ", "invoice_id": other.pk}), 422, "code_required", "code")
    assert_error(api.post("/api/loyalty/vouchers/redeem-check", {"code": v.code}), 422, "invalid", "invoice_id")


def test_adjust_bad_input_names_the_field_and_writes_nothing(world, zhang):
    api = Api.session(world.manager)
    before = PointsEntry.objects.count()
    assert_error(api.post(f"/api/loyalty/customers/{zhang.pk}/adjust", {"points": -5000, "reason": "扣减", "idempotency_key": "k"}),
                 422, "insufficient_points", "points")
    assert_error(api.post(f"/api/loyalty/customers/{zhang.pk}/adjust", {"points": 10, "reason": " ", "idempotency_key": "k"}),
                 422, "reason_required", "reason")
    assert_error(api.post(f"/api/loyalty/customers/{zhang.pk}/adjust", {"points": "ten", "reason": "x", "idempotency_key": "k"}),
                 422, "invalid", "points")
    assert PointsEntry.objects.count() == before
    r = api.post(f"/api/loyalty/customers/{zhang.pk}/adjust", {"points": -200, "reason": "扣减", "idempotency_key": "k"})
    assert r.status_code == 201 and r.json()["balance_after"] == 1000


def test_behaviour_points_once_per_key(world, zhang):
    api = Api.session(world.advisor)
    for _ in range(2):
        r = api.post(f"/api/loyalty/customers/{zhang.pk}/behaviour", {"behaviour": "review", "source_key": "fb:1"})
        assert r.status_code == 201 and r.json()["points"] == 50
    assert PointsEntry.objects.filter(source="review").count() == 1
    assert_error(api.post(f"/api/loyalty/customers/{zhang.pk}/behaviour", {"behaviour": "dance", "source_key": "x"}),
                 422, "invalid_choice", "behaviour")


def test_referrals_create_list_report_and_scope(world, zhang, li_b):
    newbie = customer_at(world.a, name="王芳")
    api = Api.session(world.advisor)
    r = api.post("/api/loyalty/referrals", {"referrer_id": zhang.pk, "referred_id": newbie.pk})
    assert r.status_code == 201 and r.json()["status"] == "pending" and r.json()["staff_id"] == world.advisor.pk
    assert_error(api.post("/api/loyalty/referrals", {"referrer_id": zhang.pk, "referred_id": newbie.pk}), 409, "already_referred", "referred")
    assert_error(api.post("/api/loyalty/referrals", {"referrer_id": zhang.pk, "referred_id": li_b.pk}), 404)
    assert Referral.objects.count() == 1
    other = customer_at(world.b)
    referral_create(actor=world.manager_b, referrer=li_b, referred=other, store=world.b)
    assert len(ids(api.get("/api/loyalty/referrals"))) == 1  # store B's referral is not listed
    report = api.get("/api/loyalty/referrals/report").json()
    assert report["by_staff"] == [{"id": world.advisor.pk, "name": world.advisor.display_name, "total": 1, "pending": 1,
                                   "rewarded": 0, "points": 0}]
    assert report["by_customer"][0]["name"] == "张伟"
    assert_error(Api.session(world.technician).get("/api/loyalty/referrals"), 403)


def test_templates_listed_for_the_group(world):
    template(world.group, code="all")
    template(world.group, code="b-only", store=world.b)
    codes = [t["code"] for t in Api.session(world.advisor).get("/api/loyalty/templates").json()]
    assert codes == ["all"]
