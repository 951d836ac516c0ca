"""The customer approves an estimate on the signed link on a phone-sized screen, in headless Chromium (Debian's
package): one job approved with aftermarket parts (explicit tick), an option group decided, one job declined with a
reason, a signature drawn with the finger (pointer events on the canvas) and stored as a PNG."""

from __future__ import annotations

from decimal import Decimal

import pytest

from aftersales.estimates import services
from aftersales.estimates.models import Authorization
from aftersales.estimates.tests.conftest import shop  # noqa: F401 - the fixture
from aftersales.workshop.models import RepairJob, RepairOrder

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_customer_approves_on_the_signed_link_on_a_phone(live_server, world, shop, browser_page, settings):  # noqa: F811
    settings.AFTERSALES_PUBLIC_URL = live_server.url
    page = browser_page
    page.set_viewport_size({"width": 390, "height": 844})
    advisor = world.advisor
    oem, aftermarket = services.estimate_add_operation(actor=advisor, order=shop.order, operation=shop.brakes, part_choice="both")
    (oil,) = services.estimate_add_operation(actor=advisor, order=shop.order, operation=shop.oil_service)
    estimate = services.estimate_send(actor=advisor, order=shop.order, note="刹车片磨损严重，建议更换")

    page.goto(services.approval_url(estimate))
    page.wait_for_selector("[data-testid=approve-page]")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390  # fits the phone: no sideways scrolling
    assert "刹车片磨损严重" in page.inner_text("body")

    # the aftermarket option, without the tick first: refused, nothing recorded, the message on the job
    page.click(f"[data-testid=option-{aftermarket.pk}]")
    page.click(f"[data-testid=decline-{oil.pk}]")
    page.fill(f"input[name=reason_{oil.pk}]", "下次保养再换")
    assert page.inner_text("[data-testid=approved-total]") == "¥900.00"
    pad = page.locator("[data-testid=signature-pad]")
    pad.scroll_into_view_if_needed()
    box = pad.bounding_box()
    page.mouse.move(box["x"] + 20, box["y"] + box["height"] * 0.7)
    page.mouse.down()
    for x, y in ((0.3, 0.2), (0.5, 0.8), (0.7, 0.3), (0.9, 0.6)):
        page.mouse.move(box["x"] + box["width"] * x, box["y"] + box["height"] * y, steps=5)
    page.mouse.up()
    page.click("[data-testid=approve-submit]")
    page.wait_for_selector("[data-testid=job-error]")
    assert not Authorization.objects.exists()

    # tick the aftermarket consent, sign again (the page came back), confirm
    page.check(f"[data-testid=aftermarket-{aftermarket.pk}]")
    assert page.is_checked(f"[data-testid=option-{aftermarket.pk}]")  # the choices were kept
    pad = page.locator("[data-testid=signature-pad]")
    pad.scroll_into_view_if_needed()
    box = pad.bounding_box()
    page.mouse.move(box["x"] + 15, box["y"] + 20)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] - 20, box["y"] + box["height"] - 20, steps=8)
    page.mouse.up()
    page.click("[data-testid=approve-submit]")
    page.wait_for_selector("[data-testid=decided]")
    assert "900.00" in page.inner_text("[data-testid=decided-total]")

    auth = Authorization.objects.get()
    assert (auth.method, auth.approved_total, auth.signer_name) == ("link", Decimal("900.00"), "张伟")
    assert auth.signature.read().startswith(b"\x89PNG")
    assert "Chrome" in auth.user_agent or "HeadlessChrome" in auth.user_agent
    states = dict(RepairJob.objects.filter(order=shop.order).values_list("pk", "status"))
    assert states == {oem.pk: "declined", aftermarket.pk: "authorized", oil.pk: "declined"}
    assert RepairJob.objects.get(pk=oil.pk).declined_reason == "下次保养再换"
    assert RepairOrder.objects.get(pk=shop.order.pk).status == "authorized"

    # the status page the customer is sent to
    page.click("[data-testid=to-status]")
    page.wait_for_selector("[data-testid=status-page]")
    assert page.locator("[data-testid=status-job]").count() == 3


def test_advisor_corrects_a_draft_job_on_the_order_page(live_server, world, shop, browser_page):  # noqa: F811
    """Issue 14 item 1: the advisor opens a proposed job in place (htmx), sees every bad cell at once, fixes them,
    adds a disposal fee and a discount, and the estimate total follows; then deletes a job."""
    page = browser_page
    page.set_viewport_size({"width": 1280, "height": 900})
    (brakes,) = services.estimate_add_operation(actor=world.advisor, order=shop.order, operation=shop.brakes)
    (oil,) = services.estimate_add_operation(actor=world.advisor, order=shop.order, operation=shop.oil_service)
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", world.advisor.username)
    page.fill("#id_password", "pw-for-tests-123")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}/orders/{shop.order.pk}/")
    assert page.inner_text("[data-testid=estimate-total]") == "¥1,522.00"

    page.click(f"[data-testid=job][data-job='{brakes.pk}'] [data-testid=job-edit-open]")
    form = page.locator(f"[data-testid=job-edit][data-job='{brakes.pk}']")
    form.wait_for()
    form.locator("input[name=line-0-quantity]").fill("0")  # two mistakes at once
    form.locator("input[name=line-1-discount]").fill("9999")
    form.locator("select[name=line-2-kind]").select_option("fee")
    form.locator("input[name=line-2-description]").fill("废液处理费")
    form.locator("input[name=line-2-unit_price]").fill("15")
    form.locator("[data-testid=job-save]").click()
    page.wait_for_selector("[data-testid=job-edit-errors]")
    assert page.locator("[data-testid=error-quantity]").count() == 1
    assert page.locator("[data-testid=error-discount]").count() == 1
    assert page.locator("input[name=line-2-description]").input_value() == "废液处理费"  # what was typed is kept
    assert brakes.lines.count() == 2

    page.locator("input[name=line-0-quantity]").fill("1.5")
    page.locator("input[name=line-1-discount]").fill("20")
    page.locator("[data-testid=job-save]").click()
    page.wait_for_selector(f"[data-testid=job][data-job='{brakes.pk}']")
    # 450 + (620 − 20) + 15 + oil 452
    assert page.inner_text("[data-testid=estimate-total]") == "¥1,517.00"

    page.once("dialog", lambda d: d.accept())
    page.click(f"[data-testid=job][data-job='{oil.pk}'] [data-testid=job-delete]")
    page.wait_for_selector(f"[data-testid=job][data-job='{oil.pk}']", state="detached")
    assert page.inner_text("[data-testid=estimate-total]") == "¥1,065.00"
    assert not RepairJob.objects.filter(pk=oil.pk).exists()


def test_approval_page_on_a_phone_summary_first_and_a_missing_signature_keeps_the_place(live_server, world, shop, browser_page, settings):  # noqa: F811
    """Issue 14 item 1: the summary (total, the jobs) comes first, each job's lines fold away, and confirming without a
    signature keeps the customer where they are with the message beside the signature box (no reload)."""
    settings.AFTERSALES_PUBLIC_URL = live_server.url
    page = browser_page
    page.set_viewport_size({"width": 390, "height": 844})
    oem, _aftermarket = services.estimate_add_operation(actor=world.advisor, order=shop.order, operation=shop.brakes, part_choice="both")
    (oil,) = services.estimate_add_operation(actor=world.advisor, order=shop.order, operation=shop.oil_service)
    estimate = services.estimate_send(actor=world.advisor, order=shop.order)
    page.goto(services.approval_url(estimate))
    page.wait_for_selector("[data-testid=approve-page]")
    summary = page.locator("[data-testid=approve-summary]").bounding_box()
    first_job = page.locator("[data-testid=decide-job], [data-testid=decide-group]").first.bounding_box()
    assert summary["y"] + summary["height"] <= first_job["y"] and summary["y"] < 844  # the summary first, on screen
    assert page.inner_text("[data-testid=summary-total]") == "¥1,522.00"
    line_table = page.locator(f"[data-testid=decide-job][data-job='{oil.pk}'] table.lines")
    assert not line_table.is_visible()  # folded
    page.click(f"[data-testid=decide-job][data-job='{oil.pk}'] [data-testid=job-details] summary")
    assert line_table.is_visible()

    page.click(f"[data-testid=option-{oem.pk}]")
    page.click(f"[data-testid=approve-{oil.pk}]")
    assert page.inner_text("[data-testid=summary-approved]") == "¥1,522.00"
    page.click("[data-testid=approve-submit]")
    error = page.locator("[data-testid=signature-error]")
    error.wait_for(state="visible")
    assert "签名" in error.inner_text() or "sign" in error.inner_text().lower()
    top = page.evaluate("window.scrollY")
    assert top > 300  # still down at the signature box, not back at the top of a reloaded page
    box = error.bounding_box()
    assert 0 <= box["y"] <= 844  # the message is on screen
    assert page.is_checked(f"[data-testid=option-{oem.pk}]") and page.is_checked(f"[data-testid=approve-{oil.pk}]")
    assert not Authorization.objects.exists()
    height = page.evaluate("document.documentElement.scrollHeight")
    print(f"approval page height at 390 px: {height} px")
