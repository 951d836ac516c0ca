from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

import pytest

from aftersales.common.tests.factories import CustomerFactory, VehicleFactory
from aftersales.reception.tests.conftest import png  # noqa: F401 - shared helper


def jpeg(seed: int = 0) -> bytes:
    from aftersales.reception.tests.conftest import png as _png

    return _png(320 + seed, 200, fmt="JPEG")


@pytest.fixture
def shop(world, settings, tmp_path):
    """Store A with a labour rate, a customer's car towed in after an accident (a handover sheet with damage marked
    on the outline and a photo), a bumper in the catalogue and the rule that replaces a severely damaged bumper."""
    from aftersales.assessments import services
    from aftersales.estimates.services import labour_rate_set
    from aftersales.parts.models import Part
    from aftersales.reception import services as reception

    settings.MEDIA_ROOT = str(tmp_path / "media")
    labour_rate_set(actor=world.manager, store=world.a, job_type="repair", rate="300")
    customer = CustomerFactory(home_store=world.a, name="张伟", title="mr")
    vehicle = VehicleFactory(owner=customer, plate="粤B12345", make="Toyota", model="Camry")
    handover = reception.handover_start(actor=world.advisor, store=world.a, vehicle=vehicle)
    # a dent on the front bumper, a scratch on the left front door
    reception.damage_mark_add(actor=world.advisor, handover=handover, x=95, y=50, kind="dent")
    reception.damage_mark_add(actor=world.advisor, handover=handover, x=55, y=8, kind="scratch")
    reception.photo_add(actor=world.advisor, handover=handover, content=jpeg(1), caption="front")
    bumper = Part.objects.create(group=world.group, number="52119-06050", name_zh="前保险杠", name_en="Front bumper cover",
                                 cost_price=Decimal("800"), sale_price=Decimal("1200"))
    services.rule_save(actor=world.manager, store=world.a, panel="front_bumper", damage_type="dent", severity="severe",
                       action="replace", hours="1.8", part=bumper)
    return SimpleNamespace(world=world, store=world.a, customer=customer, vehicle=vehicle, handover=handover,
                           bumper=bumper, assessor=world.advisor)


@pytest.fixture
def staff_client():
    """A logged-in client in the user's language: ``staff_client(user, "en")`` (the language kept on the user too)."""
    from django.test import Client

    def login(user, lang: str = "zh-hans"):
        user.language = lang
        user.save(update_fields=["language"])
        client = Client()
        client.force_login(user)
        client.cookies["django_language"] = lang
        return client

    return login


@pytest.fixture
def upload():
    """A file to post: ``upload(jpeg(1), "p.jpg")``."""
    import io

    def make(content: bytes, name: str = "p.jpg") -> io.BytesIO:
        file = io.BytesIO(content)
        file.name = name
        return file

    return make


@pytest.fixture
def approved(shop):
    """``approved(insurer_approved="1000")``: an assessment of the shop's car, one finding (bumper dent, severe →
    replaced with the catalogue bumper), an outline on the first photo, the insurer's amount, approved into a repair
    order."""
    from aftersales.assessments import services

    def make(*, insurer_approved: str = "1000"):
        s = shop
        a = services.assessment_open(actor=s.assessor, handover=s.handover)
        photo = a.photos.get()
        services.photo_outline_save(actor=s.assessor, photo=photo, shapes=[{"x": 0.1, "y": 0.2, "w": 0.3, "h": 0.25}])
        services.finding_add(actor=s.assessor, assessment=a, panel="front_bumper", damage_type="dent", severity="severe",
                             note="<b>左下</b>")
        services.insurance_save(actor=s.assessor, assessment=a, insurer="中国人保财险 / PICC P&C", claim_number="RC-1",
                                insurer_approved=insurer_approved)
        return services.assessment_approve(actor=s.assessor, assessment=a)

    return make
