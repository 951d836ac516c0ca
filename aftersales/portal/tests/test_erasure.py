"""Staff apply or refuse an owner's deletion request (PIPL): applied, the person's name, mobile and plate are found
nowhere in the database or the upload folder afterwards; invoices and repair orders stay, pointing at the
pseudonymised customer; another customer's records keep their own details; refused, nothing is erased and the owner
is told why. The staff export names every kind of record we hold."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import models
from django.db.models.functions import Cast
from django.test import Client
from django.utils import timezone

from aftersales.common import audit
from aftersales.common.tests.factories import CustomerFactory, VehicleFactory
from aftersales.portal.models import DeletionRequest

from .conftest import sign_in

pytestmark = pytest.mark.django_db

NAME, MOBILE, PLATE = "欧阳娜娜", "+8613971234567", "粤B7Q2X9"


def _everywhere(needle: str) -> list[str]:
    """Every (table.column) holding ``needle``: every text and JSON column of every table (JSON also as escaped)."""
    found = []
    escaped = json.dumps(needle)[1:-1]
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if isinstance(field, models.FileField):
                qs = model._base_manager.filter(**{f"{field.attname}__contains": needle})
            elif isinstance(field, models.JSONField):
                qs = model._base_manager.annotate(t=Cast(field.attname, models.TextField()))
                qs = qs.filter(t__contains=needle) | qs.filter(t__contains=escaped)
            elif isinstance(field, (models.CharField, models.TextField)):
                qs = model._base_manager.filter(**{f"{field.attname}__contains": needle})
            else:
                continue
            if qs.exists():
                found.append(f"{model._meta.db_table}.{field.column}")
    return found


def _in_uploads(needle: str) -> list[str]:
    hits = []
    for path in Path(settings.MEDIA_ROOT).rglob("*"):
        if path.is_file() and (needle in str(path) or needle.encode() in path.read_bytes()):
            hits.append(str(path))
    return hits


@pytest.fixture
def person(world, owners, settings, tmp_path):
    """欧阳娜娜 with a car, a visit with its invoice, a complaint with a photo, a survey, messages and audit entries;
    李娜 (another customer) whose complaint quotes 欧阳娜娜's number."""
    from aftersales.billing.models import Invoice
    from aftersales.feedback.models import CasePhoto, FeedbackCase, FollowUp
    from aftersales.messaging.models import Message
    from aftersales.workshop.models import RepairOrder

    settings.MEDIA_ROOT = str(tmp_path / "media")  # this test's own upload folder, searched whole afterwards
    now = timezone.now()
    who = CustomerFactory(group=world.group, home_store=world.a, name=NAME, mobile=MOBILE, email="ouyang@example.cn",
                          address="广州市天河区体育西路 88 号", notes=f"{NAME} 喜欢绿茶")
    car = VehicleFactory(group=world.group, owner=who, plate=PLATE, make="BMW", model="320Li")
    order = RepairOrder.objects.create(store=world.a, number="RO-ERASE-1", customer=who, vehicle=car, opened_at=now,
                                       delivered_at=now, status="delivered", total=Decimal("880.00"),
                                       complaint=f"{NAME}（{MOBILE[3:]}）说 {PLATE} 刹车异响")
    invoice = Invoice.objects.create(store=world.a, order=order, customer=who, number="INV-ERASE-1", issued_at=now,
                                     subtotal=Decimal("880.00"), total=Decimal("880.00"))
    case = FeedbackCase.objects.create(store=world.a, kind="complaint", channel="portal", customer=who, order=order, created_at=now,
                                       contact_name=NAME, contact_mobile=MOBILE, text=f"我是{NAME}，车牌 {PLATE}")
    photo = CasePhoto.objects.create(case=case, image=ContentFile(f"{PLATE} {NAME}".encode(), name=f"{PLATE}.jpg"),
                                     content_type="image/jpeg", size=20)
    FollowUp.objects.create(store=world.a, order=order, customer=who, vehicle=car, method="sms", delivered_at=now,
                            due_at=now, overdue_at=now, suggestions=f"请打 {MOBILE[3:]} 找{NAME}", score_overall=9)
    Message.objects.create(group=world.group, store=world.a, customer=who, kind="care.due", purpose="service", recipient=MOBILE,
                           body=f"{NAME}您好，{PLATE} 该保养了", dedup_key="erase-1", language="zh-hans")
    audit.record(actor=world.manager, obj=who, action="customer.updated", store_id=world.a.pk, customer_id=who.pk,
                 changes={"name": ["欧阳", NAME], "mobile": ["", MOBILE]})
    # a public complaint not linked to the customer, found by the mobile it quotes
    public = FeedbackCase.objects.create(store=world.a, kind="complaint", channel="box", contact_name=NAME, created_at=now,
                                         contact_mobile=MOBILE[3:], text="等太久")
    public_photo = CasePhoto.objects.create(case=public, image=ContentFile(b"public complaint photo", name="box.jpg"),
                                            content_type="image/jpeg", size=22)
    public_photo_path = Path(public_photo.image.path)
    # another customer's complaint quoting her number; the other customer keeps his own name
    FeedbackCase.objects.create(store=world.a, kind="complaint", channel="portal", customer=owners.zhang, created_at=now,
                                contact_name=owners.zhang.name, text=f"朋友 {MOBILE[3:]} 介绍来的")
    photo_path = Path(photo.image.path)
    assert photo_path.exists()
    return who, car, order, invoice, (photo_path, public_photo_path)


def test_applied_request_leaves_no_trace_of_the_person(world, owners, person):
    who, car, order, invoice, (photo_path, public_photo_path) = person
    client = Client()
    sign_in(client, who)
    assert client.post("/app/privacy/", {"action": "deletion", "reason": "不再用车"}).status_code == 302
    request = DeletionRequest.objects.get(customer=who)
    assert _everywhere(NAME) and _everywhere(MOBILE[3:]) and _everywhere(PLATE)  # the search finds them before
    manager = Client()
    manager.force_login(world.manager)
    page = manager.get("/privacy/deletions/").content.decode()
    assert 'data-testid="deletion-refuse"' in page and "data-confirm" in page
    assert manager.post("/privacy/deletions/", {"request": request.pk, "action": "apply"}).status_code == 302
    for needle in (NAME, MOBILE, MOBILE[3:], PLATE, "ouyang@example.cn", "体育西路"):
        assert _everywhere(needle) == [], needle
        assert _in_uploads(needle) == [], needle
    assert not photo_path.exists()
    assert not public_photo_path.exists()  # the photo of the complaint she sent before she was a known customer
    # kept: the invoice and the repair order, linked to the pseudonymised customer; the car keeps its VIN
    invoice.refresh_from_db()
    order.refresh_from_db()
    car.refresh_from_db()
    who.refresh_from_db()
    assert invoice.customer_id == who.pk and invoice.total == Decimal("880.00") and order.customer_id == who.pk
    assert who.name == f"#{who.pk:06d}" and who.anonymised_at and car.vin and car.plate == ""
    assert "刹车异响" in order.complaint  # the record stays, the person is gone from it
    # another customer keeps his name and plate; only her number in his complaint is masked
    owners.zhang.refresh_from_db()
    assert owners.zhang.name == "张伟" and _everywhere("粤B12345")
    request.refresh_from_db()
    assert request.status == "done" and request.handled_by == world.manager
    from aftersales.common.models import AuditEvent

    entry = AuditEvent.objects.get(action="customer.deleted", customer_id=who.pk)
    assert entry.actor == world.manager and entry.changes["erased"][1]["files"] == 2
    assert client.get("/app/").status_code == 302  # her session is over


def test_refused_request_needs_a_reason_and_erases_nothing(world, owners, person):
    who, *_rest = person
    client = Client()
    sign_in(client, who)
    client.post("/app/privacy/", {"action": "deletion", "reason": "删掉"})
    request = DeletionRequest.objects.get(customer=who)
    manager = Client()
    manager.force_login(world.manager)
    blank = manager.post("/privacy/deletions/", {"request": request.pk, "action": "refuse", "refuse_reason": " "})
    assert blank.status_code == 422 and 'data-testid="deletion-error"' in blank.content.decode()
    other = Client()
    other.force_login(world.manager_b)
    assert other.post("/privacy/deletions/", {"request": request.pk, "action": "refuse",
                                              "refuse_reason": "x"}).status_code == 404
    reason = "维修纠纷尚在处理中，处理完毕后再删除"
    assert manager.post("/privacy/deletions/", {"request": request.pk, "action": "refuse",
                                                "refuse_reason": reason}).status_code == 302
    request.refresh_from_db()
    who.refresh_from_db()
    assert request.status == "refused" and request.outcome == reason and request.handled_by == world.manager
    assert who.name == NAME and who.anonymised_at is None
    from aftersales.common.models import AuditEvent

    assert AuditEvent.objects.filter(action="customer.deletion_refused", customer_id=who.pk).exists()
    assert reason in manager.get("/privacy/deletions/").content.decode()
    page = client.get("/app/privacy/").content.decode()
    assert 'data-testid="deletion-refused-reason"' in page and reason in page
    # applying a refused request changes nothing
    assert manager.post("/privacy/deletions/", {"request": request.pk, "action": "apply"}).status_code == 302
    who.refresh_from_db()
    assert who.name == NAME


def test_staff_export_holds_every_kind_of_record(world, owners, person):
    """The staff export (web page and API) of a customer: ledger, vouchers, messages, surveys, complaints, reminders,
    tier history and referrals, with codes explained in the reader's language."""
    who, *_rest = person
    world.admin.language = "zh-hans"
    world.admin.save(update_fields=["language"])
    manager = Client()
    manager.force_login(world.manager)
    response = manager.get(f"/customers/{who.pk}/export/")
    assert response.status_code == 200
    data = json.loads(response.content)
    for section in ("points_ledger", "vouchers", "messages", "surveys", "complaints", "reminders", "tier_history",
                    "referrals", "invoices", "appointments"):
        assert section in data, section
    assert data["complaints"][0]["text"].startswith("我是") and data["complaints"][0]["kind_label"] == "Complaint"
    assert data["surveys"][0]["score_overall"] == 9  # typed: a number, not text
    assert data["messages"][0]["body"].startswith(NAME)
    assert "fields" in data and data["fields"]["complaints"]["text"]
    assert "张伟" not in response.content.decode()  # another customer's complaint is not hers
    other = Client()
    other.force_login(world.manager_b)
    assert other.get(f"/customers/{who.pk}/export/").status_code == 404
    chinese = Client()  # the group admin reads Chinese
    chinese.force_login(world.admin)
    zh = chinese.get(f"/customers/{who.pk}/export/")
    assert json.loads(zh.content)["complaints"][0]["kind_label"] == "投诉"
