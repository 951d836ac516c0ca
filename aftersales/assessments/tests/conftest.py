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
