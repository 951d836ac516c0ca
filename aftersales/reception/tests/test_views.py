"""Reception screens and the customer's signing page; the handover sheet as a PDF in both languages."""

from __future__ import annotations

import io

import pytest
from django.test import Client

from aftersales.reception import services
from aftersales.reception.choices import HandoverStatus
from aftersales.reception.models import Handover

from .conftest import data_url, png

pytestmark = pytest.mark.django_db


def login(user):
    client = Client()
    client.force_login(user)
    return client


def ready(desk):
    handover = services.handover_start(actor=desk.world.advisor, appointment=desk.booking)
    return services.handover_update(actor=desk.world.advisor, handover=handover, data={
        "mileage": 12500, "energy_level": 75, "belongings": "儿童座椅", "customer_words": "刹车时有异响",
        "conditions": ["braking"], "extra_requests": ["wash"],
    })


def test_pages_need_login_and_scope(desk):
    handover = ready(desk)
    for url in ["/reception/", f"/reception/{handover.pk}/", f"/reception/{handover.pk}/pdf/"]:
        response = Client().get(url)
        assert response.status_code == 302 and "/login/" in response["Location"]
        assert login(desk.world.advisor_b).get(url).status_code in (404, 200 if url == "/reception/" else 404)
    assert login(desk.world.advisor_b).get(f"/reception/{handover.pk}/").status_code == 404
    assert login(desk.world.staff["cashier"]).get(f"/reception/{handover.pk}/").status_code == 403
    assert login(desk.world.advisor_b).post(f"/reception/{handover.pk}/open-order/").status_code == 404


def test_start_from_reception_and_fill_the_sheet(desk):
    client = login(desk.world.advisor)
    response = client.post("/reception/start/", {"appointment": desk.booking.pk})
    handover = Handover.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/reception/{handover.pk}/"
    page = client.get(f"/reception/{handover.pk}/")
    assert page.status_code == 200 and "data-testid=\"car-outline\"" in page.content.decode()
    response = client.post(f"/reception/{handover.pk}/", {"mileage": "-3", "energy_level": "50", "exterior": "good", "interior": "good"})
    assert response.status_code == 200
    assert 'data-field="mileage"' in response.content.decode()
    handover.refresh_from_db()
    assert handover.mileage is None
    response = client.post(f"/reception/{handover.pk}/", {
        "mileage": "12500", "energy_level": "50", "exterior": "fair", "interior": "good", "conditions": ["braking"],
        "promised_at": "2030-01-01T17:30",
    })
    assert response.status_code == 302
    handover.refresh_from_db()
    assert (handover.mileage, handover.exterior, handover.conditions) == (12500, "fair", ["braking"])
    assert handover.promised_at.astimezone(desk.store.zone).strftime("%H:%M") == "17:30"
    client.post(f"/reception/{handover.pk}/marks/", {"x": "30", "y": "40", "kind": "scratch"})
    upload = io.BytesIO(png(fmt="JPEG"))
    upload.name = "scratch.jpg"
    client.post(f"/reception/{handover.pk}/photos/", {"photo": upload})
    text = io.BytesIO(b"hello")
    text.name = "notes.txt"
    response = client.post(f"/reception/{handover.pk}/photos/", {"photo": text}, follow=True)
    assert "JPEG, PNG" in response.content.decode() or "JPEG、PNG" in response.content.decode()
    client.post(f"/reception/{handover.pk}/sign/", {"signature": data_url(png()), "signer_name": "张伟"})
    client.post(f"/reception/{handover.pk}/open-order/")
    handover.refresh_from_db()
    assert handover.status == HandoverStatus.SIGNED and handover.order is not None
    assert handover.marks.count() == 1 and handover.photos.count() == 1


def test_customer_signs_on_the_link(desk):
    handover = services.handover_request_signature(actor=desk.world.advisor, handover=ready(desk))
    token = services.signing_token(handover)
    client = Client()
    page = client.get(f"/h/{token}/")
    assert page.status_code == 200 and "粤B12345" in page.content.decode() and "儿童座椅" in page.content.decode()
    assert client.get(f"/h/{token}x/").status_code == 404
    response = client.post(f"/h/{token}/", {"signature": data_url(png(ink=False))})
    assert response.status_code == 200 and 'data-testid="sign-error"' in response.content.decode()
    response = client.post(f"/h/{token}/", {"signature": data_url(png()), "signer_name": "张伟"})
    assert response.status_code == 200 and 'data-testid="public-message"' in response.content.decode()
    handover.refresh_from_db()
    assert handover.status == HandoverStatus.SIGNED and handover.signed_via == "link"
    assert "public-sign" not in client.get(f"/h/{token}/").content.decode()


@pytest.mark.parametrize(("lang", "expected"), [
    ("zh-hans", ["车辆交接单", "粤B12345", "儿童座椅", "刹车时有异响", "制动", "洗车", "客户确认"]),
    ("en", ["Vehicle handover sheet", "粤B12345", "Braking", "Car wash", "Customer's confirmation", "12,500"]),
])
def test_pdf_in_both_languages(desk, lang, expected):
    from pypdf import PdfReader

    from aftersales.reception.pdf import handover_pdf

    handover = ready(desk)
    services.damage_mark_add(actor=desk.world.advisor, handover=handover, x=50, y=50, kind="dent", note="左后门凹陷")
    services.handover_sign(actor=desk.world.advisor, handover=handover, signature=data_url(png()))
    handover = Handover.objects.get(pk=handover.pk)
    from aftersales.common.tests.pdf_fonts import assert_fonts_embedded

    content = handover_pdf(handover, lang)
    assert_fonts_embedded(content, expect=("左后门凹陷",))
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)
    for fragment in expected:
        assert fragment in text, (fragment, text[:800])
    assert "左后门凹陷" in text
    response = login(desk.world.advisor).get(f"/reception/{handover.pk}/pdf/?lang={lang}")
    assert response.status_code == 200 and response.content.startswith(b"%PDF")


@pytest.mark.parametrize("value", ['Unclosed <b> bold', '<font name="x">f</font>',
                                   '<a href="https://evil.example/">link</a>', '<img src="/etc/passwd"/> pic'])
def test_pdf_prints_hostile_text_literally(desk, value):
    """Issue 13, item 4: belongings, words, damage notes and the signer's name are escaped in the handover PDF."""
    from pypdf import PdfReader

    from aftersales.reception.models import DamageMark
    from aftersales.reception.pdf import handover_pdf

    handover = ready(desk)
    services.damage_mark_add(actor=desk.world.advisor, handover=handover, x=50, y=50, kind="dent", note="x")
    services.handover_sign(actor=desk.world.advisor, handover=handover, signature=data_url(png()))
    Handover.objects.filter(pk=handover.pk).update(belongings=value, customer_words=value, signer_name=value[:60])
    DamageMark.objects.filter(handover=handover).update(note=value)
    type(desk.customer).objects.filter(pk=desk.customer.pk).update(name=value)
    handover = Handover.objects.get(pk=handover.pk)
    for lang in ("zh-hans", "en"):
        reader = PdfReader(io.BytesIO(handover_pdf(handover, lang)))
        assert not any("/Annots" in page for page in reader.pages)
        images = sum(len(page.get("/Resources", {}).get("/XObject", {}) or {}) for page in reader.pages)
        assert images <= 1  # the signature only
        assert "".join(value.split())[:10] in "".join("".join(p.extract_text() for p in reader.pages).split())


def test_the_reception_sheets_photo_and_signature_load_for_the_advisor(desk):
    """Photos and signatures are private files (common/media.py): the sheet gives them signed addresses that load."""
    import re

    client = Client()
    client.force_login(desk.world.advisor)
    handover = ready(desk)
    upload = io.BytesIO(png(fmt="JPEG"))
    upload.name = "scratch.jpg"
    client.post(f"/reception/{handover.pk}/photos/", {"photo": upload})
    signed = client.post(f"/reception/{handover.pk}/sign/", {"signature": data_url(png()), "signer_name": "张伟"})
    assert signed.status_code == 302, signed.content.decode()[-800:]
    page = client.get(f"/reception/{handover.pk}/").content.decode()
    sources = re.findall(r'<img src="(/media/[^"]+)"', page)
    assert len(sources) >= 2, sources
    for src in sources:
        got = Client().get(src.replace("&amp;", "&"))
        assert got.status_code == 200 and got["Content-Type"].startswith("image/"), src
