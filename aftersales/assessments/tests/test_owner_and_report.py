"""Issue 20's remaining assessment items: the bilingual report PDF (staff and owner), the owner's share by a signed link
(and the repair order showing it), the rule table's pickers, outlines on photos, the owner's guided capture page,
the common validators, and the scoping of each (another store's / another owner's assessment is a 404)."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.test import Client

from aftersales.assessments import services
from aftersales.assessments.models import Assessment, AssessmentPhoto, DamageRule
from aftersales.assessments.report import assessment_pdf
from aftersales.common.errors import Problems, ValidationFailed
from aftersales.common.tests.factories import CustomerFactory, VehicleFactory
from aftersales.common.tests.pdf_fonts import assert_fonts_embedded
from aftersales.common.validators import choice_value, decimal_value, text_value

from .conftest import jpeg

pytestmark = pytest.mark.django_db


# ---- 7: the common validators ------------------------------------------------------------------------------------
def test_common_validators_collect_every_bad_field():
    from aftersales.assessments.choices import Severity

    problems = Problems()
    assert choice_value("light", Severity, "severity", problems) == "light"
    assert choice_value("", Severity, "other", problems, blank=True) == ""
    assert choice_value("huge", Severity, "severity", problems) == ""
    assert text_value("  ok ", "note", 5, problems) == "ok"
    assert text_value("x" * 6, "note", 5, problems) == ""
    assert decimal_value("1,200.5", "amount", problems, lo=Decimal("0"), hi=Decimal("9999")) == Decimal("1200.50")
    assert decimal_value("NaN", "hours", problems, lo=Decimal("0"), hi=Decimal("9")) is None
    assert decimal_value("", "hours", problems, lo=Decimal("0"), hi=Decimal("9")) is None
    with pytest.raises(ValidationFailed) as caught:
        problems.raise_if_any()
    assert [(e["field"], e["code"]) for e in caught.value.extra["errors"]] == [
        ("severity", "invalid_choice"), ("note", "too_long"), ("hours", "number_range")]


def test_assessments_use_the_common_problems_collector():
    from aftersales.assessments import services as module

    assert module.Problems is Problems
    assert not hasattr(module, "InvalidOperation")


# ---- 1: the report PDF -------------------------------------------------------------------------------------------
def test_the_report_in_both_languages_embeds_its_font_and_escapes_text(shop, approved):
    a = approved()
    text_zh = assert_fonts_embedded(assessment_pdf(a, "zh-hans"), expect=("定损报告", "前保险杠", "中国人保财险", "<b>左下</b>"))
    assert "PICC" not in text_zh and a.number in text_zh
    text_en = assert_fonts_embedded(assessment_pdf(a, "en"), expect=(
        "Damage assessment report", "Front bumper", "PICC P&C", "1 area(s) outlined", "Signatures"))
    # the figures: the insurer's part and the customer's share
    flat = "".join(text_en.split())
    assert f"¥{a.insurer_part:,.2f}" in flat and f"¥{a.owner_part:,.2f}" in flat


def test_staff_download_the_report_and_another_store_gets_404(shop, staff_client, approved):
    a = approved()
    desk = staff_client(shop.assessor)
    response = desk.get(f"/assessments/{a.pk}/report.pdf?lang=en")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert "Damage assessment report" in assert_fonts_embedded(response.content)
    default = desk.get(f"/assessments/{a.pk}/report.pdf")  # the customer's language (Chinese here)
    assert "定损报告" in assert_fonts_embedded(default.content)
    assert staff_client(shop.world.advisor_b).get(f"/assessments/{a.pk}/report.pdf").status_code == 404
    assert staff_client(shop.world.staff["cashier"]).get(f"/assessments/{a.pk}/report.pdf").status_code == 403


# ---- 2: the owner's share by a signed link -----------------------------------------------------------------------
def test_report_sent_to_the_owner_in_their_language_once(shop, settings, staff_client, approved):
    from aftersales.messaging.models import Message

    settings.AFTERSALES_PUBLIC_URL = "http://testserver"
    shop.customer.language = "en"
    shop.customer.save(update_fields=["language"])
    a = approved()
    desk = staff_client(shop.assessor)
    assert desk.post(f"/assessments/{a.pk}/send/").status_code == 302
    assert desk.post(f"/assessments/{a.pk}/send/").status_code == 302  # a double click sends once
    (message,) = Message.objects.filter(kind="assessment.report")
    assert message.customer_id == shop.customer.pk and "/da/" in message.body
    assert f"{a.owner_part:,.2f}" in message.body and "your share" in message.body
    a.refresh_from_db()
    assert a.report_sent_at is not None


def test_report_cannot_be_sent_before_approval(shop):
    a = services.assessment_open(actor=shop.assessor, handover=shop.handover)
    with pytest.raises(Exception) as caught:
        services.report_send(actor=shop.assessor, assessment=a)
    assert getattr(caught.value, "code", "") == "not_approved"


def test_owner_approves_only_their_share_and_the_order_shows_it(shop, staff_client, approved):
    a = approved()
    assert a.insurer_part == Decimal("1000.00") and a.owner_part == a.total - Decimal("1000.00") > 0
    token = services.owner_token(a)
    owner = Client()
    page = owner.get(f"/da/{token}/").content.decode()
    assert 'lang="zh-hans"' in page[:300] and "中国人保财险" in page and "PICC" not in page
    assert 'data-testid="insurer-part">¥1,000.00' in page and f"¥{a.owner_part:,.2f}" in page
    assert 'data-testid="outline-box"' in page  # the outline drawn on the photo
    # bad input: no name, no tick → both named, nothing recorded
    response = owner.post(f"/da/{token}/", {"decision": "approved", "signer_name": ""})
    assert response.status_code == 422
    body = response.content.decode()
    assert "请填写您的姓名" in body and "勾选" in body
    a.refresh_from_db()
    assert a.share_decision == ""
    response = owner.post(f"/da/{token}/", {"decision": "approved", "signer_name": "张伟", "agree": "1"})
    assert response.status_code == 302
    a.refresh_from_db()
    assert a.share_decision == "approved" and a.share_signer == "张伟" and a.share_amount == a.owner_part
    assert a.share_decided_at is not None
    assert owner.post(f"/da/{token}/", {"decision": "declined", "signer_name": "张伟"}).status_code == 422  # decided
    assert 'data-testid="share-decided"' in owner.get(f"/da/{token}/").content.decode()
    # the repair order shows the insurer's part, the share and the decision; its audit trail has it
    order_page = staff_client(shop.assessor, "en").get(f"/orders/{a.order_id}/").content.decode()
    assert 'data-testid="order-assessment"' in order_page and "Approved" in order_page
    assert f"{a.owner_part}" in order_page
    from aftersales.common.models import AuditEvent

    assert AuditEvent.objects.filter(action="repair_order.customer_share", object_id=str(a.order_id)).exists()


def test_a_changed_share_is_decided_again(shop, approved):
    a = approved()
    services.share_decide(assessment=a, decision="declined", signer_name="张伟")
    services.insurance_save(actor=shop.assessor, assessment=a, insurer="PICC", insurer_approved="1200")
    a.refresh_from_db()
    page = Client().get(f"/da/{services.owner_token(a)}/").content.decode()
    assert 'data-testid="share-changed"' in page
    a = services.share_decide(assessment=a, decision="approved", signer_name="张伟", agree=True)
    assert a.share_amount == a.total - Decimal("1200.00")


def test_signed_links_are_the_owners_only(shop, approved):
    a = approved()
    token = services.owner_token(a)
    owner = Client()
    assert owner.get(f"/da/{token}x/").status_code == 404
    assert owner.get(f"/da/{token}x/report.pdf").status_code == 404
    assert owner.get("/da/nonsense/photos/").status_code == 404
    # another owner's photo is not reachable through this link
    other_customer = CustomerFactory(home_store=shop.world.b, name="李雷")
    other_car = VehicleFactory(owner=other_customer, plate="粤B99999")
    other = services.assessment_open(actor=shop.world.advisor_b, store=shop.world.b, vehicle=other_car)
    foreign = services.photo_add(actor=shop.world.advisor_b, assessment=other, content=jpeg(2), angle="front")
    assert owner.get(f"/da/{token}/photos/{foreign.pk}/").status_code == 404
    own = a.photos.first()
    assert owner.get(f"/da/{token}/photos/{own.pk}/").status_code == 200
    pdf = owner.get(f"/da/{token}/report.pdf")
    assert pdf.status_code == 200 and "定损报告" in assert_fonts_embedded(pdf.content)
    # a cancelled assessment's link stops working
    services.assessment_cancel(actor=shop.world.advisor_b, assessment=other)
    assert owner.get(f"/da/{services.owner_token(other)}/").status_code == 404


def test_the_owner_app_lists_only_the_owners_assessments(shop):
    from aftersales.portal.tests.conftest import sign_in

    a = services.assessment_open(actor=shop.assessor, handover=shop.handover)
    mine = Client()
    sign_in(mine, shop.customer)
    page = mine.get(f"/app/cars/{shop.vehicle.pk}/").content.decode()
    assert 'data-testid="owner-assessments"' in page and a.number in page
    assert f"/da/{services.owner_token(a)}/photos/" in page
    stranger = CustomerFactory(home_store=shop.store, name="王芳")
    theirs = Client()
    sign_in(theirs, stranger)
    assert theirs.get(f"/app/cars/{shop.vehicle.pk}/").status_code == 404


# ---- 3: the rule table's pickers ---------------------------------------------------------------------------------
def test_rules_page_picks_an_operation_and_a_part(shop, staff_client):
    from aftersales.estimates.models import LabourOperation

    op = LabourOperation.objects.create(group=shop.world.group, code="BP-010", name_zh="前保险杠拆装",
                                        name_en="Front bumper R&R", standard_hours=Decimal("1.20"))
    manager = staff_client(shop.world.manager, "en")
    page = manager.get("/assessments/rules/").content.decode()
    assert 'data-testid="rule-operation"' in page and "BP-010 · Front bumper R&amp;R" in page
    assert '<datalist id="rule-parts">' in page and "52119-06050 · Front bumper cover" in page
    response = manager.post("/assessments/rules/", {
        "form": "rule", "panel": "bonnet", "damage_type": "dent", "severity": "moderate", "action": "replace",
        "hours": "", "operation": str(op.pk), "part": "52119-06050 · Front bumper cover", "quantity": "1"})
    assert response.status_code == 302
    rule = DamageRule.objects.get(panel="bonnet")
    assert rule.operation_id == op.pk and rule.part_id == shop.bumper.pk
    page = manager.get("/assessments/rules/").content.decode()
    assert "BP-010 · Front bumper R&amp;R" in page and "52119-06050 · Front bumper cover × 1" in page
    # bad picks: every bad field named at once, nothing written
    before = DamageRule.objects.count()
    with pytest.raises(ValidationFailed) as caught:
        services.rule_save(actor=shop.world.manager, store=shop.store, panel="roof", damage_type="dent", severity="light",
                           action="repair", hours="500", operation="999999", part="NO-SUCH-PART")
    assert {e["field"] for e in caught.value.extra["errors"]} == {"hours", "operation", "part"}
    assert DamageRule.objects.count() == before
    # another group's operation is not pickable
    from aftersales.stores.models import DealerGroup

    foreign = LabourOperation.objects.create(group=DealerGroup.objects.create(name="Other"), code="X-1", name_zh="别家",
                                             standard_hours=Decimal("1"))
    manager.post("/assessments/rules/", {"form": "rule", "panel": "roof", "damage_type": "dent", "severity": "light",
                                         "action": "repair", "operation": str(foreign.pk)})
    assert not DamageRule.objects.filter(panel="roof").exists()


# ---- 4: outlines on photos ---------------------------------------------------------------------------------------
def test_outline_saved_from_the_desk_and_checked(shop, staff_client):
    a = services.assessment_open(actor=shop.assessor, handover=shop.handover)
    photo = a.photos.get()
    desk = staff_client(shop.assessor)
    page = desk.get(f"/assessments/{a.pk}/?outline={photo.pk}").content.decode()
    assert 'data-testid="outline-canvas"' in page and "outline.js" in page
    shapes = [{"x": 0.25, "y": 0.4, "w": 0.2, "h": 0.1}, {"x": 0.6, "y": 0.1, "w": 0.3, "h": 0.3}]
    assert desk.post(f"/assessments/{a.pk}/outline/", {"photo": photo.pk, "outlines": json.dumps(shapes)}).status_code == 302
    photo.refresh_from_db()
    assert photo.outlines == shapes
    assert desk.get(f"/assessments/{a.pk}/").content.decode().count('data-testid="outline-box"') == 2
    for bad in ("[{\"x\": 0.9, \"y\": 0.1, \"w\": 0.5, \"h\": 0.1}]", "not json", json.dumps([{"x": 0.1}]),
                json.dumps([{"x": 0.1, "y": 0.1, "w": 0.1, "h": 0.1}] * 13)):
        with pytest.raises(ValidationFailed) as caught:
            services.photo_outline_save(actor=shop.assessor, photo=photo, shapes=bad)
        assert caught.value.field.startswith("outlines")
    photo.refresh_from_db()
    assert photo.outlines == shapes  # nothing written
    assert staff_client(shop.world.advisor_b).post(f"/assessments/{a.pk}/outline/", {"photo": photo.pk, "outlines": "[]"}).status_code == 404


def test_polygon_outlines_checked_with_every_bad_area_named(shop, staff_client):
    a = services.assessment_open(actor=shop.assessor, handover=shop.handover)
    photo = a.photos.get()
    pentagon = {"points": [[0.2, 0.5], [0.4, 0.45], [0.5, 0.6], [0.35, 0.75], [0.2, 0.7]]}
    closed = {"points": [[0.6, 0.1], [0.9, 0.1], [0.75, 0.3], [0.6, 0.1]]}  # closed by repeating the first point
    rect = {"x": 0.1, "y": 0.1, "w": 0.2, "h": 0.2}
    services.photo_outline_save(actor=shop.assessor, photo=photo, shapes=json.dumps([pentagon, closed, rect]))
    photo.refresh_from_db()
    assert photo.outlines == [pentagon, {"points": [[0.6, 0.1], [0.9, 0.1], [0.75, 0.3]]}, rect]
    page = staff_client(shop.assessor).get(f"/assessments/{a.pk}/").content.decode()
    assert page.count('data-testid="outline-box"') == 3 and page.count('data-shape="polygon"') == 2
    assert 'points="20.0,50.0 40.0,45.0 50.0,60.0 35.0,75.0 20.0,70.0"' in page
    bad = [
        pentagon,                                                         # 1: fine
        {"points": [[0.1, 0.1], [0.2, 0.2]]},                             # 2: too few points
        {"points": [[0.1, 0.1], [1.2, 0.2], [0.3, 0.5]]},                 # 3: outside the photo
        {"points": [[0.1, 0.1], [0.5, 0.5], [0.9, 0.9]]},                 # 4: no area (a line)
        {"points": [[0.1, 0.1], [0.5, 0.5], [0.5, 0.1], [0.1, 0.5]]},     # 5: a bow-tie (edges cross)
        {"points": [[i / 100, (i * 7 % 50) / 100] for i in range(65)]},   # 6: more than 64 points
        {"points": [[0.1, "x"], [0.2, 0.2], [0.3, 0.1]]},                 # 7: unreadable
        {"points": [[0.1, 0.1], [0.1, 0.1], [0.3, 0.1], [0.2, 0.4]]},     # 8: a repeated point
        {"x": 0.9, "y": 0.1, "w": 0.5, "h": 0.1},                         # 9: a rectangle outside
    ]
    from django.utils import translation

    with translation.override("en"), pytest.raises(ValidationFailed) as caught:
        services.photo_outline_save(actor=shop.assessor, photo=photo, shapes=bad)
    with translation.override("en"):
        errors = {e["field"]: str(e["message"]) for e in caught.value.extra["errors"]}
    assert set(errors) == {f"outlines.{n}" for n in range(2, 10)}
    assert "3 to 64 points" in errors["outlines.2"] and "3 to 64 points" in errors["outlines.6"]
    assert "outside" in errors["outlines.3"] and "cross" in errors["outlines.5"] and "could not be read" in errors["outlines.7"]
    photo.refresh_from_db()
    assert len(photo.outlines) == 3  # nothing written
    # the desk names them all at once (in the assessor's language)
    desk = staff_client(shop.assessor, "en")
    response = desk.post(f"/assessments/{a.pk}/outline/", {"photo": photo.pk, "outlines": json.dumps(bad)}, follow=True)
    text = response.content.decode()
    assert all(f"Area {n} " in text for n in range(2, 10)), text


def test_the_report_draws_polygons(shop):
    from reportlab.graphics.shapes import Polygon, Rect

    from aftersales.assessments import report

    a = services.assessment_open(actor=shop.assessor, handover=shop.handover)
    photo = a.photos.get()
    services.photo_outline_save(actor=shop.assessor, photo=photo, shapes=[
        {"points": [[0.2, 0.5], [0.4, 0.45], [0.5, 0.6]]}, {"x": 0.1, "y": 0.1, "w": 0.2, "h": 0.2}])
    photo.refresh_from_db()
    drawing = report.thumbnail(photo)
    polygons = [s for s in drawing.contents if isinstance(s, Polygon)]
    assert len(polygons) == 1 and len([s for s in drawing.contents if isinstance(s, Rect)]) == 1
    w, h = drawing.width, drawing.height
    assert polygons[0].points == pytest.approx([0.2 * w, h - 0.5 * h, 0.4 * w, h - 0.45 * h, 0.5 * w, h - 0.6 * h])


# ---- 5: the owner's guided capture ---------------------------------------------------------------------------------
def test_owner_guided_capture_in_order(shop, upload):
    customer, store = shop.customer, shop.store
    customer.language = "en"
    customer.save(update_fields=["language"])
    a = services.assessment_open(actor=shop.assessor, store=store, vehicle=shop.vehicle)
    token = services.owner_token(a)
    owner = Client()
    page = owner.get(f"/da/{token}/photos/").content.decode()
    assert 'lang="en"' in page[:300] and "Next: Front" in page and "0 of 8 angles" in page
    assert 'data-angle="front"' in page
    assert owner.post(f"/da/{token}/photos/", {"angle": "front", "photo": upload(jpeg(1))}).status_code == 302
    page = owner.get(f"/da/{token}/photos/").content.decode()
    assert "1 of 8 angles" in page and 'data-angle="front_right"' in page
    response = owner.post(f"/da/{token}/photos/", {"angle": "front_right", "photo": upload(b"not an image", "x.jpg")})
    assert response.status_code == 422
    response = owner.post(f"/da/{token}/photos/", {"angle": "sideways", "photo": upload(jpeg(2))})
    assert response.status_code == 422
    photos = list(AssessmentPhoto.objects.filter(assessment=a))
    assert [(p.angle, p.source) for p in photos] == [("front", "owner")]
    a.refresh_from_db()
    assert a.first_photo_at is not None  # the clock starts with the owner's photo
    services.assessment_cancel(actor=shop.assessor, assessment=a)
    assert owner.get(f"/da/{token}/photos/").status_code == 404


def test_approved_assessment_takes_no_more_owner_photos(shop, upload, approved):
    a = approved()
    owner = Client()
    token = services.owner_token(a)
    assert "This assessment takes no more photos." in owner.get(f"/da/{token}/photos/?lang=en").content.decode()
    owner.post(f"/da/{token}/photos/", {"angle": "front", "photo": upload(jpeg(1))})
    assert Assessment.objects.get(pk=a.pk).photos.count() == 1
