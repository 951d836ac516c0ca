"""People, the manager's side, in headless Chromium at desk size: renew then withdraw a certificate; assign the
training a complaint flag proposes and record a referral payout; log a reception from the handover sheet (and the
general manager's own page on a 390 px phone); record the month's customer-service meeting with an action."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from django.utils import timezone

from aftersales.analytics.tests import factories as f
from aftersales.feedback.models import FeedbackCase, ImprovementAction
from aftersales.loyalty.models import Referral
from aftersales.people import services
from aftersales.people.models import GMReception, ReferralReward, ServiceMeeting, TrainingAssignment
from aftersales.reception.models import Handover
from aftersales.staff.models import Certification
from aftersales.workshop.tests.conftest import floor  # noqa: F401 - the fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SHOTS = Path(os.environ.get("AFTERSALES_SHOTS", Path(__file__).resolve().parent.parent / "var" / "screenshots"))
DESK = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}


def _shot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"people-incentives-{name}.png"), full_page=True)


def _login(page, live_server, user):
    page.set_default_timeout(45_000)
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", "pw-for-tests-123")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")


def test_manager_renews_then_withdraws_a_certificate(live_server, floor, browser_page):  # noqa: F811
    d = timezone.localtime(timezone.now(), floor.store.zone).date()
    cert = services.certification_record(actor=floor.foreman, holder=floor.tech, kind="hv_ev", issuer="广汽新能源培训中心",
                                         number="HV-1", valid_from=d - dt.timedelta(days=300),
                                         valid_until=d + dt.timedelta(days=20))
    page = browser_page
    page.set_viewport_size(DESK)
    _login(page, live_server, floor.world.manager)
    page.goto(f"{live_server.url}/people/")
    page.click("[data-testid=certificate-edit]")
    page.wait_for_selector("[data-testid=certificate-change-form]")
    page.fill("#id_number", "HV-2")
    page.fill("#id_valid_from", d.isoformat())
    page.fill("#id_valid_until", (d + dt.timedelta(days=730)).isoformat())
    page.fill("#id_reason", "复训合格换证")
    page.click("[data-testid=certificate-change-save]")
    page.wait_for_selector("[data-testid=certificate-status]")
    assert "HV-2" in page.inner_text("[data-testid=certificate-history]")
    _shot(page, "1-certificate-renewed")
    page.on("dialog", lambda dialog: dialog.accept())
    page.fill("#withdraw-reason", "证书被发证机构吊销")
    page.click("[data-testid=certificate-withdraw]")
    page.wait_for_selector("[data-testid=certificate-status]")
    page.wait_for_function("() => !document.querySelector('[data-testid=certificate-withdraw-form]')")
    cert.refresh_from_db()
    assert cert.withdrawn_at is not None and cert.number == "HV-2"
    assert page.evaluate("document.documentElement.scrollWidth") <= DESK["width"]
    _shot(page, "2-certificate-withdrawn")


def _month_of_feedback(store, advisor):
    """This quarter: three delivered visits of the advisor (one with a complaint) and two qualified referrals."""
    now = timezone.now()
    orders = [f.order(store, opened=now - dt.timedelta(hours=5, minutes=n), advisor=advisor) for n in range(3)]
    for o in orders:
        o.delivered_at = now - dt.timedelta(hours=1)
        o.save(update_fields=["delivered_at"])
    case = FeedbackCase.objects.create(store=store, kind="complaint", channel="phone", order=orders[0], owner=advisor,
                                       text="交车时没有讲清楚换了什么", created_at=now - dt.timedelta(minutes=30))
    for _n in range(2):
        Referral.objects.create(group=store.group, referrer=f.customer(store), referred=f.customer(store), staff=advisor,
                                store=store, status="qualified", created_at=now - dt.timedelta(minutes=50),
                                qualified_at=now - dt.timedelta(minutes=40))
    return timezone.localtime(now - dt.timedelta(minutes=30), store.zone).date(), case


def test_flag_to_training_referral_payout_and_the_meeting(live_server, floor, browser_page):  # noqa: F811
    day, case = _month_of_feedback(floor.store, floor.advisor)
    page = browser_page
    page.set_viewport_size(DESK)
    _login(page, live_server, floor.world.manager)
    page.goto(f"{live_server.url}/people/incentives/?store={floor.store.pk}&day={day.isoformat()}")
    page.click("[data-testid=flag-assign]")
    page.wait_for_selector("[data-testid=flag-assigned]")
    assert TrainingAssignment.objects.get().person_id == floor.advisor.pk
    page.on("dialog", lambda dialog: dialog.accept())
    assert page.inner_text("[data-testid=reward-due]") == "200.00"
    page.click("[data-testid=reward-pay]")
    page.wait_for_selector("[data-testid=reward-row]")
    assert ReferralReward.objects.count() == 2 and page.inner_text("[data-testid=reward-due]") == "0.00"
    _shot(page, "3-incentives")
    page.goto(f"{live_server.url}/people/meeting/?store={floor.store.pk}&month={day:%Y-%m}")
    assert page.locator("[data-testid=agenda-item]").count() == 1
    page.check(f"input[name=attendees][value='{floor.world.manager.pk}']")
    page.check(f"input[name=attendees][value='{floor.advisor.pk}']")
    page.check(f"input[name=cases][value='{case.pk}']")
    page.fill("#mt-minutes", "交车讲解不到位，全员复盘")
    page.click("[data-testid=meeting-save]")
    page.wait_for_selector("[data-testid=meeting-record]")
    page.fill("#ac-title", "交车时逐项讲解更换的零件")
    page.select_option("#ac-cat", "attitude")
    page.select_option("#ac-owner", str(floor.advisor.pk))
    page.fill("#ac-due", (day + dt.timedelta(days=30)).isoformat())
    page.click("[data-testid=action-save]")
    page.wait_for_selector("[data-testid=meeting-action]")
    meeting = ServiceMeeting.objects.get()
    assert list(meeting.cases.values_list("pk", flat=True)) == [case.pk] and meeting.attendees.count() == 2
    assert ImprovementAction.objects.get().meeting_action.meeting_id == meeting.pk
    _shot(page, "4-meeting")
    page.click("[data-testid=action-done]")
    page.wait_for_selector("[data-testid=meeting-action] .chip.ok")


def test_general_manager_receives_from_the_handover_sheet(live_server, floor, browser_page):  # noqa: F811
    manager = floor.world.manager
    services.people_settings_update(actor=manager, store=floor.store, complaint_rate_threshold="5",
                                    referral_reward="100", gm_reception_target="10", general_manager=manager)
    c = f.customer(floor.store)
    handover = Handover.objects.create(store=floor.store, customer=c, vehicle=f.vehicle(c), advisor=floor.advisor)
    page = browser_page
    page.set_viewport_size(DESK)
    _login(page, live_server, manager)
    page.goto(f"{live_server.url}/reception/{handover.pk}/")
    page.click("[data-testid=gm-receive]")
    page.wait_for_selector("[data-testid=gm-received]")
    assert GMReception.objects.get().handover_id == handover.pk
    _shot(page, "5-handover-received")
    page.goto(f"{live_server.url}/people/receptions/?store={floor.store.pk}")
    assert page.inner_text("[data-testid=gm-count]") == "1"
    _shot(page, "6-receptions")
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server.url}/people/me/")
    page.wait_for_selector("[data-testid=my-receptions]")
    assert "1 / 10" in page.inner_text("[data-testid=my-receptions]")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    _shot(page, "7-gm-own-page-phone")
    assert not Certification.objects.exists()
