"""A customer answers the after-service survey on a phone-sized screen (headless Chromium, Debian's package)."""

from __future__ import annotations

import pytest

from aftersales.common.tests.factories import CustomerFactory, VehicleFactory
from aftersales.feedback import services
from aftersales.feedback.models import FeedbackCase, FollowUp
from aftersales.feedback.tests.conftest import deliver, office_hours

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_customer_answers_the_survey_on_a_phone(live_server, world, browser_page):
    page = browser_page
    office_hours(world.a)
    customer = CustomerFactory(home_store=world.a, name="张伟", title="mr", preferred_channel="sms")
    vehicle = VehicleFactory(owner=customer, plate="粤B12345")
    followup = services.followup_create_for_order(order=deliver(world, vehicle))
    url = f"{live_server.url}/s/{services.survey_token(followup)}/"

    page.set_viewport_size({"width": 375, "height": 740})
    page.goto(url)
    page.wait_for_selector("[data-testid=survey-form]")
    assert "服务态度" in page.content()  # the customer's language (zh-Hans) by default
    assert page.evaluate("document.documentElement.scrollWidth") <= 375  # no sideways scrolling on a phone
    page.click("text=English")
    page.wait_for_selector("text=Service attitude")
    for question, score in (("attitude", 10), ("quality", 9), ("waiting", 6), ("price", 8), ("recommend", 9)):
        page.click(f"label[for={question}-{score}]")
    page.fill("#id_suggestions", "Please add more seats in the lounge")
    page.click("[data-testid=survey-submit]")
    page.wait_for_selector("[data-testid=survey-thanks]")

    followup = FollowUp.objects.get(pk=followup.pk)
    assert followup.status == "answered" and followup.score_waiting == 6 and followup.score_recommend == 9
    assert sorted(FeedbackCase.objects.values_list("kind", flat=True)) == ["recovery", "suggestion"]
    page.goto(url)  # one answer per order
    page.wait_for_selector("[data-testid=survey-answered]")
