"""Loyalty screens: login/role/store scoping for every view, inline errors naming the field, writes through the
services (htmx section on the customer 360 page, the store page, referrals), a fixed query count for the section."""

from __future__ import annotations

import pytest

from aftersales.common.tests.api_helpers import count_queries
from aftersales.loyalty.models import Gift, PointsEntry, Referral, Voucher
from aftersales.loyalty.services import points_adjust, points_earn_behaviour, voucher_issue

from .factories import customer_at, template

pytestmark = pytest.mark.django_db


@pytest.fixture
def zhang(world):
    c = customer_at(world.a, name="张伟", mobile="+8613812345678", mobile_digits="13812345678")
    points_adjust(actor=world.manager, customer=c, store=world.a, points=1000, reason="开户", idempotency_key="o")
    return c


def _get_pages(zhang):
    return ["/loyalty/", "/loyalty/referrals/", f"/loyalty/customers/{zhang.pk}/"]


def test_pages_require_login_role_and_scope(client, world, zhang):
    for url in _get_pages(zhang):
        r = client.get(url)
        assert r.status_code == 302 and "/login/" in r["Location"], url
    for url in (f"/loyalty/customers/{zhang.pk}/issue/", f"/loyalty/customers/{zhang.pk}/adjust/"):
        r = client.post(url, {})
        assert r.status_code == 302 and "/login/" in r["Location"], url
    client.force_login(world.technician)
    for url in _get_pages(zhang):
        assert client.get(url).status_code == 403, url
    client.force_login(world.advisor)
    for url in _get_pages(zhang):
        assert client.get(url).status_code == 200, url
    assert client.post(f"/loyalty/customers/{zhang.pk}/issue/", {"template": "1"}).status_code == 403
    assert client.post(f"/loyalty/customers/{zhang.pk}/adjust/", {"points": "5", "reason": "x"}).status_code == 403
    assert client.post("/loyalty/", {"action": "adjust", "customer": "13812345678", "points": "5", "reason": "x"}).status_code == 403
    # another store's manager: the customer is 404, the store is 404
    client.force_login(world.manager_b)
    assert client.get(f"/loyalty/customers/{zhang.pk}/").status_code == 404
    assert client.post(f"/loyalty/customers/{zhang.pk}/adjust/", {"points": "5", "reason": "x"}).status_code == 404
    assert client.get(f"/loyalty/?store={world.a.pk}").status_code == 404
    assert PointsEntry.objects.count() == 1 and not Voucher.objects.exists()


def test_360_page_loads_the_section_and_the_manager_issues_a_voucher(client, world, zhang):
    t = template(world.group, name_en="Free A/C cleaning", kind="free_item", service_codes=["AC-CLEAN"])
    client.force_login(world.manager)
    page = client.get(f"/customers/{zhang.pk}/").content.decode()
    assert f"/loyalty/customers/{zhang.pk}/" in page
    section = client.get(f"/loyalty/customers/{zhang.pk}/").content.decode()
    assert 'data-testid="points-balance">1,000<' in section and "issue-voucher-form" in section
    r = client.post(f"/loyalty/customers/{zhang.pk}/issue/", {"template": str(t.pk), "reason": "生日礼"}, HTTP_HX_REQUEST="true")
    assert r.status_code == 200
    voucher = Voucher.objects.get()
    assert voucher.code in r.content.decode() and voucher.store_id == world.a.pk and voucher.reason == "生日礼"
    # the limit is refused inline, on the field, and nothing more is written
    r = client.post(f"/loyalty/customers/{zhang.pk}/issue/", {"template": str(t.pk)}, HTTP_HX_REQUEST="true")
    assert 'data-field="template"' in r.content.decode()
    assert Voucher.objects.count() == 1


def test_section_adjust_inline_error_and_success(client, world, zhang):
    client.force_login(world.manager)
    r = client.post(f"/loyalty/customers/{zhang.pk}/adjust/", {"points": "-5000", "reason": "扣减"})
    assert r.status_code == 422 and 'data-field="points"' in r.content.decode()
    r = client.post(f"/loyalty/customers/{zhang.pk}/adjust/", {"points": "-300", "reason": "扣减"})
    assert r.status_code == 302
    zhang.refresh_from_db()
    assert zhang.points_balance == 700


def test_section_query_count_does_not_grow_with_history(client, world, zhang):
    client.force_login(world.manager)
    url = f"/loyalty/customers/{zhang.pk}/"
    t = template(world.group, per_customer_limit=0)
    client.get(url)  # warm: the auth context is cached after the first request (common/authcache.py)
    first, _ = count_queries(lambda: client.get(url))
    for i in range(20):
        points_earn_behaviour(actor=world.manager, customer=zhang, store=world.a, behaviour="checkin", source_key=str(i))
        voucher_issue(actor=world.manager, customer=zhang, store=world.a, template=t, reason="")
    second, response = count_queries(lambda: client.get(url))
    assert response.status_code == 200
    assert second == first, (first, second)


def test_store_page_issue_adjust_and_gift(client, world, zhang):
    t = template(world.group)
    gift = Gift.objects.create(store=world.a, name_zh="洗车券", name_en="Car wash", points_cost=300, stock=2)
    client.force_login(world.manager)
    r = client.post(f"/loyalty/?store={world.a.pk}", {"action": "issue", "customer": "138 1234 5678", "template": str(t.pk), "reason": "活动"})
    assert r.status_code == 302 and Voucher.objects.filter(customer=zhang).count() == 1
    r = client.post("/loyalty/", {"action": "adjust", "customer": "13900000000", "points": "5", "reason": "x"})
    assert r.status_code == 200 and 'data-field="customer"' in r.content.decode()
    r = client.post("/loyalty/", {"action": "adjust", "customer": str(zhang.pk), "points": "50", "reason": "补录"})
    assert r.status_code == 302
    r = client.post("/loyalty/", {"action": "gift", "customer": "13812345678", "gift": str(gift.pk), "idempotency_key": "abc"})
    assert r.status_code == 302
    client.post("/loyalty/", {"action": "gift", "customer": "13812345678", "gift": str(gift.pk), "idempotency_key": "abc"})  # resent
    gift.refresh_from_db()
    zhang.refresh_from_db()
    assert (gift.stock, zhang.points_balance) == (1, 750)
    page = client.get("/loyalty/?q=张伟&kind=redeem").content.decode()
    assert "洗车券" in page or "Car wash" in page
    assert "补录" not in page  # the adjustment is not a redemption
    assert "补录" in client.get("/loyalty/?q=1234 5678").content.decode()  # by mobile digits
    assert "补录" not in client.get("/loyalty/?q=13900000000").content.decode()
    assert client.get("/loyalty/?kind=adjust").status_code == 200


def test_referrals_page_records_and_reports(client, world, zhang):
    newbie = customer_at(world.a, name="王芳", mobile="+8613912345678", mobile_digits="13912345678")
    client.force_login(world.advisor)
    r = client.post("/loyalty/referrals/", {"referrer": "13812345678", "referred": "13912345678"})
    assert r.status_code == 302
    ref = Referral.objects.get()
    assert (ref.referrer_id, ref.referred_id, ref.staff_id, ref.store_id) == (zhang.pk, newbie.pk, world.advisor.pk, world.a.pk)
    r = client.post("/loyalty/referrals/", {"referrer": "13812345678", "referred": "13912345678"})
    assert r.status_code == 200 and 'data-field="referred"' in r.content.decode()
    page = client.get("/loyalty/referrals/").content.decode()
    assert "王芳" in page and 'data-testid="report-staff"' in page


def test_manager_changes_the_store_rules_with_inline_errors(client, world, zhang):
    from aftersales.common.models import AuditEvent
    from aftersales.loyalty.models import LoyaltySettings

    rules = {"points_per_cny": "2", "checkin_points": "10", "review_points": "50", "referral_points": "800",
             "sharing_points": "5", "expiry_months": "12", "points_per_cny_redeemed": "100", "max_redeem_share": "0.3"}
    client.force_login(world.advisor)
    assert client.post("/loyalty/", {"action": "settings", **rules}).status_code == 403
    client.force_login(world.manager)
    r = client.post("/loyalty/", {"action": "settings", **rules, "max_redeem_share": "1.5"})
    assert r.status_code == 200 and 'data-field="max_redeem_share"' in r.content.decode()
    r = client.post("/loyalty/", {"action": "settings", **rules, "review_points": "2.5"})
    assert 'data-field="review_points"' in r.content.decode()
    assert not LoyaltySettings.objects.exists()
    assert client.post("/loyalty/", {"action": "settings", **rules}).status_code == 302
    saved = LoyaltySettings.objects.get(store=world.a)
    assert (saved.points_per_cny, saved.referral_points, saved.expiry_months, str(saved.max_redeem_share)) == (2, 800, 12, "0.30")
    assert AuditEvent.objects.filter(action="loyalty.settings_changed").count() == 1
    client.force_login(world.manager_b)
    assert client.post(f"/loyalty/?store={world.a.pk}", {"action": "settings", **rules}).status_code == 404
