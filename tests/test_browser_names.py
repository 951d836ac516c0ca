"""An English-speaking customer of a Chinese store opens the estimate link on a phone: the jobs, options and parts
priced in Chinese read in English (issue 16), and the page fits the screen."""

from __future__ import annotations

import re

import pytest

from aftersales.estimates import services
from aftersales.estimates.tests.conftest import shop  # noqa: F401 - the fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
CJK = re.compile(r"[\u3400-\u9fff]")


def test_english_customer_reads_the_jobs_in_english_on_a_phone(live_server, world, shop, browser_page, settings, tmp_path):  # noqa: F811
    settings.AFTERSALES_PUBLIC_URL = live_server.url
    page = browser_page
    page.set_viewport_size({"width": 390, "height": 844})
    services.estimate_add_operation(actor=world.advisor, order=shop.order, operation=shop.brakes, part_choice="both")
    estimate = services.estimate_send(actor=world.advisor, order=shop.order)
    shop.customer.language = "en"  # the customer set English after the jobs were priced in Chinese
    shop.customer.save(update_fields=["language"])

    page.goto(services.approval_url(estimate))
    page.wait_for_selector("[data-testid=approve-page]")
    page.screenshot(path=str(tmp_path / "approve-en.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    text = page.inner_text("body")
    for name in ("Replace front brake pads", "OEM parts", "Aftermarket parts"):
        assert name in text, name
    page.locator("details summary").first.click()  # "What is included": the option's lines
    lines = page.inner_text("body")
    assert "Toyota front brake pads" in lines and "丰田前刹车片" not in page.content()
    heads = page.locator(".job-head strong").all_inner_texts()
    assert heads and not any(CJK.search(h) for h in heads), heads
