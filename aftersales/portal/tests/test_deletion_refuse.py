"""Staff refuse a deletion request from the queue with the reason: nothing is erased, the owner is told why in
their own language, only staff with the permission at the customer's store may."""

from __future__ import annotations

import pytest
from django.test import Client

from aftersales.common.models import AuditEvent
from aftersales.customers.models import Customer
from aftersales.messaging.models import Message
from aftersales.portal.models import DeletionRequest

from .conftest import sign_in

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("language", "words"), [("zh-hans", "未能办理"), ("en", "was declined")])
def test_refuse_with_a_reason_tells_the_owner_in_their_language(client, owners, world, language, words):
    zhang = owners.zhang
    Customer.objects.filter(pk=zhang.pk).update(language=language)
    sign_in(client, zhang)
    client.post("/app/privacy/", {"action": "deletion", "reason": "不再用车"})
    request = DeletionRequest.objects.get(customer=zhang)
    other = Client()
    other.force_login(world.manager_b)
    assert other.post("/privacy/deletions/", {"request": request.pk, "action": "refuse", "refuse_reason": "x"}).status_code == 404
    advisor = Client()
    advisor.force_login(world.advisor)
    assert advisor.post("/privacy/deletions/", {"request": request.pk, "action": "refuse", "refuse_reason": "x"}).status_code == 403
    manager = Client()
    manager.force_login(world.manager)
    page = manager.get("/privacy/deletions/").content.decode()
    assert 'data-testid="deletion-refuse"' in page
    empty = manager.post("/privacy/deletions/", {"request": request.pk, "action": "refuse", "refuse_reason": " "})
    assert empty.status_code == 422 and 'data-testid="deletion-error"' in empty.content.decode()
    assert DeletionRequest.objects.get(pk=request.pk).status == "requested"
    done = manager.post("/privacy/deletions/", {"request": request.pk, "action": "refuse", "refuse_reason": "尚有未结清的维修款"})
    assert done.status_code == 302, done.content.decode()[-3000:]
    request.refresh_from_db()
    assert request.status == "refused" and request.outcome == "尚有未结清的维修款" and request.handled_by == world.manager
    person = Customer.objects.get(pk=zhang.pk)
    assert person.name == "张伟" and person.anonymised_at is None  # nothing erased
    message = Message.objects.get(kind="portal.deletion_refused", customer=zhang)
    assert words in message.body and "尚有未结清的维修款" in message.body
    assert AuditEvent.objects.filter(action="customer.deletion_refused", customer_id=zhang.pk, actor=world.manager).exists()
    # refusing again changes nothing and sends nothing more
    manager.post("/privacy/deletions/", {"request": request.pk, "action": "refuse", "refuse_reason": "again"})
    assert Message.objects.filter(kind="portal.deletion_refused").count() == 1
    assert client.get("/app/privacy/").status_code == 200  # the owner keeps their account


def test_my_data_zip_has_the_json_my_documents_and_photos_only(client, owners, world):
    import io
    import json
    import zipfile

    from django.core.files.uploadedfile import SimpleUploadedFile

    from aftersales.feedback.models import CasePhoto, FeedbackCase
    from aftersales.portal.tests.test_pages import _order

    mine = _order(owners, owners.zhang, owners.car, status="ready", number="RO-Z1")
    theirs = _order(owners, owners.li, owners.li_car, status="ready", number="RO-L1")
    from PIL import Image

    jpeg = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(jpeg, "JPEG")
    sign_in(client, owners.zhang)
    sent = client.post("/app/feedback/", {"store": owners.store.code, "kind": "complaint", "text": "漆面划痕",
                                          "photos": [SimpleUploadedFile("a.jpg", jpeg.getvalue(), "image/jpeg")]})
    assert sent.status_code == 302, sent.content.decode()[-2000:]
    assert FeedbackCase.objects.get(customer=owners.zhang).photos.count() == 1
    page = client.get("/app/privacy/").content.decode()
    assert 'data-testid="export-zip"' in page
    response = client.get("/app/privacy/my-data.zip")
    assert response.status_code == 200 and response["Content-Type"] == "application/zip" and response.streaming
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    names = archive.namelist()
    assert "my-data.json" in names and json.loads(archive.read("my-data.json"))["invoices"] == []
    assert f"visits/{mine.number}/repair_list.pdf" in names
    assert archive.read(f"visits/{mine.number}/repair_list.pdf").startswith(b"%PDF")
    assert not any(theirs.number in n for n in names)
    photos = [n for n in names if n.startswith("feedback/")]
    assert len(photos) == CasePhoto.objects.filter(case__customer=owners.zhang).count() == 1
    assert archive.read(photos[0]).startswith(b"\xff\xd8")  # the JPEG as stored (the intake strips its metadata)
    client.post("/app/logout/")
    assert client.get("/app/privacy/my-data.zip").status_code == 302  # not signed in


def test_my_data_zip_holds_every_visit_streamed_piece_by_piece(client, owners, monkeypatch):
    """No cap on the visits (it used to be the 30 latest): the visits are read in chunks and each entry is handed on
    as it is made — with a chunk of one, three visits come in three reads and many pieces."""
    import io
    import zipfile

    from aftersales.portal import services
    from aftersales.portal.tests.test_pages import _order

    monkeypatch.setattr(services, "ZIP_ORDERS_CHUNK", 1)
    numbers = [_order(owners, owners.zhang, owners.car, status="ready", number=f"RO-Z{i}").number for i in range(3)]
    sign_in(client, owners.zhang)
    response = client.get("/app/privacy/my-data.zip")
    pieces = [p for p in response.streaming_content if p]
    assert len(pieces) >= 5  # the JSON, each visit's documents, the central directory: not one blob
    names = zipfile.ZipFile(io.BytesIO(b"".join(pieces))).namelist()
    for number in numbers:
        assert f"visits/{number}/repair_list.pdf" in names, number
