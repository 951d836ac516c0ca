"""A technician fills an inspection on a phone-sized screen (headless Chromium, Debian's package): a measurement
coloured by its thresholds, colour buttons, an override that needs a note, a photo, the diagnosis, completion."""

from __future__ import annotations

import pytest

from aftersales.inspections import services
from aftersales.inspections.demo import _good_value
from aftersales.inspections.models import Inspection, InspectionItem
from aftersales.inspections.photos import tiny_png
from aftersales.inspections.tests.conftest import check_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def htmx_idle(page) -> None:
    """No htmx request in flight and no swap still settling: swapped-in content is wired only once it has settled,
    and a change made before that is lost (this made the test flaky on a busy machine)."""
    page.wait_for_function("!document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added')")


def test_technician_fills_an_inspection_on_a_phone(live_server, world, browser_page, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    page = browser_page
    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    services.install_default_checklists(store=world.a)
    order = check_in(world, world.a, world.advisor)
    inspection = services.inspection_start(actor=world.advisor, order=order, technician=world.technician)
    items = {i.name_en: i for i in InspectionItem.objects.filter(inspection=inspection)}
    tread, pads, wipers = items["Tread depth, front left"], items["Front brake pad thickness"], items["Wiper blades and washers"]

    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", world.technician.username)
    page.fill("#id_password", "pw-for-tests-123")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}/inspections/{inspection.pk}/")

    # the page fits the phone: nothing wider than the screen
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")

    # a measurement is coloured from its thresholds when the field changes (htmx saves the item)
    value = page.locator(f"[data-testid=item-{tread.seq}-value]")
    value.fill("1.4")
    value.press("Tab")
    page.wait_for_selector(f"[data-testid=item-{tread.seq}][data-rating=red]")
    htmx_idle(page)
    # choosing another colour than the measurement's asks for a note, then keeps the choice
    page.click(f"[data-testid=item-{tread.seq}-yellow]")
    page.wait_for_selector(f"[data-testid=item-{tread.seq}] [data-testid=error]")
    htmx_idle(page)
    page.fill(f"[data-testid=item-{tread.seq}-override]", "刚换的新胎，测量位置有误")
    page.click(f"[data-testid=item-{tread.seq}-yellow]")
    page.wait_for_selector(f"[data-testid=item-{tread.seq}][data-rating=yellow]")
    htmx_idle(page)

    # a check item by its big button, with a note and a photo
    page.click(f"[data-testid=item-{wipers.seq}-red]")
    page.wait_for_selector(f"[data-testid=item-{wipers.seq}][data-rating=red]")
    htmx_idle(page)
    notes = page.locator(f"[data-testid=item-{wipers.seq}-notes]")
    notes.fill("雨刮片老化开裂")
    notes.press("Tab")
    page.wait_for_function(
        f"document.querySelector('[data-testid=item-{wipers.seq}-notes]').value === '雨刮片老化开裂'"
    )
    htmx_idle(page)
    page.set_input_files(f"[data-testid=item-{pads.seq}-photo]", files=[
        {"name": "pads.png", "mimeType": "image/png", "buffer": tiny_png()}])
    page.wait_for_selector(f"[data-testid=item-{pads.seq}] [data-testid=photo]")
    htmx_idle(page)
    # a file that is not a photo is refused with a message at the item
    page.set_input_files(f"[data-testid=item-{pads.seq}-photo]", files=[
        {"name": "notes.txt", "mimeType": "text/plain", "buffer": b"not a photo"}])
    page.wait_for_selector(f"[data-testid=item-{pads.seq}] [data-testid=error]")
    htmx_idle(page)

    # everything else is fine: tap green on each remaining item (measurements by value)
    for item in InspectionItem.objects.filter(inspection=inspection).order_by("seq"):
        if item.pk in (tread.pk, wipers.pk):
            continue
        if item.kind == "measure":
            box = page.locator(f"[data-testid=item-{item.seq}-value]")
            box.fill(_good_value(item))
            box.press("Tab")
        else:
            page.click(f"[data-testid=item-{item.seq}-green]")
        page.wait_for_selector(f"[data-testid=item-{item.seq}][data-rating=green]")
        htmx_idle(page)
    assert page.locator("[data-testid=unrated]").inner_text().strip() == "0"  # the summary follows each save

    page.fill("[data-testid=diagnosis-findings]", "左前轮胎磨损，雨刮片老化")
    page.click("[data-testid=diagnosis-save]")
    page.wait_for_selector("[data-testid=complete]")
    htmx_idle(page)
    page.click("[data-testid=complete]")
    page.wait_for_selector("[data-testid=inspection-status]")
    htmx_idle(page)
    assert page.locator("[data-testid=unrated]").inner_text().strip() == "0"

    inspection = Inspection.objects.get(pk=inspection.pk)
    assert inspection.status == "completed" and inspection.findings == "左前轮胎磨损，雨刮片老化"
    tread.refresh_from_db()
    wipers.refresh_from_db()
    assert (tread.rating, tread.auto_rating, tread.override_note) == ("yellow", "red", "刚换的新胎，测量位置有误")
    assert (wipers.rating, wipers.notes) == ("red", "雨刮片老化开裂")
    assert pads.photos.count() == 1
    assert not InspectionItem.objects.filter(inspection=inspection, rating="").exists()
