"""Damage assessment in headless Chromium: from the handover sheet the advisor opens an assessment, the crew takes
the standard angles on a 390 px phone, the assessor asks for suggestions, accepts one, changes one, taps a missed
panel on the car diagram, fills the insurance and approves: the repair order opens with the priced jobs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from aftersales.assessments.models import Assessment
from aftersales.assessments.tests.conftest import jpeg, shop  # noqa: F401 - the fixture
from aftersales.workshop.models import RepairJob

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SHOTS = Path(os.environ.get("AFTERSALES_SHOTS", Path(__file__).resolve().parent.parent / "var" / "screenshots"))
PHONE = {"width": 390, "height": 844}
DESK = {"width": 1366, "height": 900}


def _shot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"assessment-{name}.png"), full_page=True)


def _login(page, base, user, lang="zh-hans"):
    user.language = lang
    user.save(update_fields=["language"])
    page.goto(f"{base}/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", "pw-for-tests-123")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def test_photos_to_suggestions_to_approved_repair_order(live_server, shop, browser_page, tmp_path):  # noqa: F811
    s = shop
    base = live_server.url
    desk = browser_page
    desk.set_viewport_size(DESK)
    desk.on("dialog", lambda d: d.accept())
    _login(desk, base, s.assessor)
    desk.goto(f"{base}/reception/{s.handover.pk}/")
    desk.click("[data-testid=assess-damage]")
    desk.wait_for_selector("[data-testid=car-diagram]")
    a = Assessment.objects.get()

    # the crew on its phone: the front and the front-left angles
    crew_ctx = desk.context.browser.new_context(viewport=PHONE, locale="zh-CN")
    crew = crew_ctx.new_page()
    crew.set_default_timeout(15_000)
    _login(crew, base, s.world.technician)
    crew.goto(f"{base}/assessments/{a.pk}/capture/")
    for n, angle in enumerate(["front", "front_left"]):
        path = tmp_path / f"{angle}.jpg"
        path.write_bytes(jpeg(n + 10))
        with crew.expect_navigation():
            crew.set_input_files(f"[data-testid=angle-{angle}] input[type=file]", str(path))
        crew.wait_for_selector(f"[data-testid=angle-{angle}].done")
    _shot(crew, "capture-phone")
    assert crew.evaluate("document.documentElement.scrollWidth") <= 390
    crew_ctx.close()

    # the assessor: suggestions from the marks, one accepted, one changed, a missed panel tapped
    desk.reload()
    desk.click("[data-testid=propose]")
    desk.wait_for_selector("[data-testid=accept-suggestion]")
    _shot(desk, "desk-suggestions")
    desk.locator("[data-testid=suggestion][data-panel=door_fl]").locator("[data-testid=accept-suggestion]").click()
    desk.wait_for_selector("[data-testid=finding-row]")
    bumper = desk.locator("[data-testid=suggestion][data-panel=front_bumper]")
    bumper.locator("select[name=severity]").select_option("severe")
    bumper.locator("text=修改后采纳").click()
    desk.wait_for_function("() => document.querySelectorAll('[data-testid=finding-row]').length === 2")
    desk.click("[data-testid=panel-bonnet]")
    assert desk.locator("[data-testid=add-panel]").input_value() == "bonnet"
    desk.select_option("[data-testid=add-damage]", "dent")
    desk.click("[data-testid=add-finding]")
    desk.wait_for_function("() => document.querySelectorAll('[data-testid=finding-row]').length === 3")
    desk.fill("[name=insurer]", "平安产险")
    desk.fill("[name=claim_number]", "RDAA2026440300001")
    desk.fill("[name=insurer_approved]", "1500")
    desk.click("[data-testid=save-insurance]")
    desk.wait_for_selector("text=保险信息已保存")
    _shot(desk, "desk-ready")
    desk.click("[data-testid=approve]")
    desk.wait_for_url(f"{base}/orders/**")
    a.refresh_from_db()
    assert a.status == "approved" and a.order_id and a.minutes is not None
    titles = list(RepairJob.objects.filter(order=a.order).order_by("seq").values_list("title", flat=True))
    assert len(titles) == 3 and any("更换" in t or "Replace" in t for t in titles), titles
    assert "前保险杠" in desk.content()
    _shot(desk, "order")
    desk.goto(f"{base}/assessments/{a.pk}/")
    desk.wait_for_selector("[data-testid=customer-share]")
    desk.goto(f"{base}/assessments/?status=approved")
    desk.wait_for_selector("[data-testid=time-figure]")
    _shot(desk, "list")


def test_outline_report_and_the_owners_share_on_a_phone(live_server, shop, browser_page, tmp_path, settings):  # noqa: F811
    """The assessor outlines the damage on a photo (a drag), approves and sends the report; the owner, on a 390 px
    phone behind the signed link, sees the insurer's part and their share and approves it; the order shows it. The
    owner's guided capture page takes the next angle in order. The rule table picks an operation and a part."""
    from aftersales.assessments import services
    from aftersales.estimates.models import LabourOperation

    s = shop
    base = live_server.url
    settings.AFTERSALES_PUBLIC_URL = base
    desk = browser_page
    desk.set_viewport_size(DESK)
    desk.on("dialog", lambda d: d.accept())
    a = services.assessment_open(actor=s.assessor, handover=s.handover)
    photo = a.photos.get()
    services.finding_add(actor=s.assessor, assessment=a, panel="front_bumper", damage_type="dent", severity="severe")
    services.insurance_save(actor=s.assessor, assessment=a, insurer="中国人保财险 / PICC P&C", insurer_approved="1000")
    _login(desk, base, s.assessor)
    desk.goto(f"{base}/assessments/{a.pk}/")
    desk.click(f"[data-testid=outline-{photo.pk}]")
    editor = desk.locator("[data-outline-editor]")
    editor.wait_for()
    desk.wait_for_function("() => document.querySelector('[data-outline-editor] img').complete")
    box = editor.bounding_box()
    desk.mouse.move(box["x"] + box["width"] * 0.2, box["y"] + box["height"] * 0.3)
    desk.mouse.down()
    desk.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.6, steps=5)
    desk.mouse.up()
    _shot(desk, "outline-editor")
    desk.click("[data-testid=save-outline]")
    desk.wait_for_selector("[data-testid=outline-box]")
    photo.refresh_from_db()
    (shape,) = photo.outlines
    assert abs(shape["x"] - 0.2) < 0.05 and abs(shape["w"] - 0.3) < 0.05, shape
    desk.click("[data-testid=approve]")
    desk.wait_for_url(f"{base}/orders/**")
    desk.goto(f"{base}/assessments/{a.pk}/")
    desk.click("[data-testid=send-report]")
    desk.wait_for_selector("[data-testid=owner-url]")
    _shot(desk, "desk-report")
    pdf = desk.request.get(f"{base}/assessments/{a.pk}/report.pdf?lang=en")
    assert pdf.status == 200 and pdf.body().startswith(b"%PDF")
    owner_url = desk.get_attribute("[data-testid=owner-url]", "href")

    # the owner on a phone: the insurer's part, their share, approve
    owner_ctx = desk.context.browser.new_context(viewport=PHONE, locale="zh-CN")
    owner = owner_ctx.new_page()
    owner.set_default_timeout(15_000)
    owner.goto(owner_url)
    owner.wait_for_selector("[data-testid=owner-share]")
    assert owner.evaluate("document.documentElement.scrollWidth") <= 390
    assert owner.locator("[data-testid=outline-box]").count() == 1
    _shot(owner, "owner-share-phone")
    owner.click("[data-testid=share-approve]")  # the box not ticked: refused, named
    owner.wait_for_selector("text=请勾选以确认您的自付部分")
    owner.check("[data-testid=share-agree]")
    owner.click("[data-testid=share-approve]")
    owner.wait_for_selector("[data-testid=share-decided]")
    _shot(owner, "owner-share-approved-phone")
    a.refresh_from_db()
    assert a.share_decision == "approved" and a.share_amount == a.owner_part
    desk.goto(f"{base}/orders/{a.order_id}/")
    desk.wait_for_selector("[data-testid=order-assessment] .chip.ok")
    _shot(desk, "order-share")

    # the owner's guided capture for a new assessment (another car accident, opened by plate)
    b = services.assessment_open(actor=s.assessor, store=s.store, vehicle=s.vehicle)
    owner.goto(f"{base}/da/{services.owner_token(b)}/photos/")
    owner.wait_for_selector("[data-testid=next-angle][data-angle=front]")
    path = tmp_path / "front.jpg"
    path.write_bytes(jpeg(3))
    with owner.expect_navigation():
        owner.set_input_files("[data-testid=next-photo]", str(path))
    owner.wait_for_selector("[data-testid=next-angle][data-angle=front_right]")
    assert owner.evaluate("document.documentElement.scrollWidth") <= 390
    _shot(owner, "owner-capture-phone")
    owner_ctx.close()

    # the rule table: an operation and a part from the pickers
    op = LabourOperation.objects.create(group=s.world.group, code="BP-010", name_zh="前保险杠拆装", standard_hours="1.20")
    manager_ctx = desk.context.browser.new_context(viewport=DESK, locale="zh-CN")
    manager = manager_ctx.new_page()
    manager.set_default_timeout(15_000)
    _login(manager, base, s.world.manager)
    manager.goto(f"{base}/assessments/rules/")
    form = manager.locator("[data-testid=rule-form]")
    form.locator("select[name=panel]").select_option("bonnet")
    form.locator("select[name=action]").select_option("replace")
    form.locator("[data-testid=rule-operation]").select_option(str(op.pk))
    form.locator("[data-testid=rule-part]").fill("52119-06050")
    form.locator("[data-testid=save-rule]").click()
    manager.wait_for_selector("[data-testid=rule-row] >> text=BP-010")
    _shot(manager, "rules-pickers")
    manager_ctx.close()


def test_polygon_outline_tapped_on_a_phone_and_clicked_at_the_desk(live_server, shop, browser_page):  # noqa: F811
    """The assessor draws a polygon around the damage by tapping points on a 390 px phone (one misplaced point taken
    back with "Undo last point", the shape closed by tapping the first point) and again with the mouse at desk size;
    the polygons are saved and drawn over the photo (SVG polygon)."""
    from aftersales.assessments import services

    s = shop
    base = live_server.url
    a = services.assessment_open(actor=s.assessor, handover=s.handover)
    photo = a.photos.get()
    desk = browser_page
    desk.set_default_timeout(60_000)  # a shared, loaded machine: the first page can take long
    desk.set_default_navigation_timeout(60_000)
    _login(desk, base, s.assessor, lang="en")
    phone_ctx = desk.context.browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="en-US")
    phone_ctx.add_cookies(desk.context.cookies())
    phone = phone_ctx.new_page()
    phone.set_default_timeout(60_000)
    phone.set_default_navigation_timeout(60_000)
    errors: list[str] = []
    phone.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    def draw(page, tap, corners):
        page.goto(f"{base}/assessments/{a.pk}/?outline={photo.pk}#outline")
        editor = page.locator("[data-outline-editor]")
        editor.wait_for()
        page.wait_for_function("() => document.querySelector('[data-outline-editor] img').complete")
        page.click("[data-testid=outline-mode-polygon]")
        box = editor.bounding_box()

        def at(fx, fy):
            now = editor.bounding_box()  # the same place: nothing on the page moves while drawing
            assert (round(now["x"]), round(now["y"])) == (round(box["x"]), round(box["y"])), (now, box)
            tap(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy)

        at(*corners[0])
        at(0.95, 0.05)  # a slip of the finger…
        assert page.locator(".outline-vertex").count() == 2
        page.click("[data-testid=outline-undo]")  # …taken back
        assert page.locator(".outline-vertex").count() == 1
        for fx, fy in corners[1:]:
            at(fx, fy)
        assert page.locator(".outline-vertex").count() == len(corners)
        at(*corners[0])  # tapping the first point closes the shape
        page.wait_for_selector("[data-testid=outline-polygon]")
        assert page.locator(".outline-vertex").count() == 0
        page.click("[data-testid=save-outline]")
        page.wait_for_selector("[data-shape=polygon]")
        return box

    # on the phone, by touch
    box = draw(phone, lambda x, y: phone.touchscreen.tap(x, y), [(0.2, 0.5), (0.45, 0.4), (0.55, 0.65), (0.3, 0.8)])
    assert box["width"] <= 390
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    _shot(phone, "polygon-phone")
    photo.refresh_from_db()
    (shape,) = photo.outlines
    assert len(shape["points"]) == 4 and abs(shape["points"][1][0] - 0.45) < 0.03 and abs(shape["points"][2][1] - 0.65) < 0.03, shape
    # at the desk, by mouse: a second polygon next to the first
    desk.set_viewport_size(DESK)
    draw(desk, lambda x, y: desk.mouse.click(x, y), [(0.6, 0.1), (0.9, 0.15), (0.85, 0.35), (0.7, 0.4), (0.6, 0.3)])
    _shot(desk, "polygon-desk")
    photo.refresh_from_db()
    assert [len(sh["points"]) for sh in photo.outlines] == [4, 5]
    desk.goto(f"{base}/assessments/{a.pk}/")
    assert desk.locator("[data-testid=outlined-photo] polygon[data-shape=polygon]").count() == 2
    assert not errors, errors
    phone_ctx.close()
