"""Jobs proposed from an inspection before their titles were written in both languages (issue 16) read in the
reader's language when the title is a checklist item's name (with its reading); a title a person typed stays."""

from __future__ import annotations

import pytest
from django.utils import timezone
from django.utils.translation import override

from aftersales.common.names import job_title
from aftersales.common.tests.factories import CustomerFactory, VehicleFactory
from aftersales.inspections.services import install_default_checklists
from aftersales.workshop.models import RepairJob, RepairOrder

pytestmark = pytest.mark.django_db


def test_an_old_single_language_title_reads_in_the_readers_language(world):
    install_default_checklists(store=world.a)
    customer = CustomerFactory(group=world.group, home_store=world.a)
    car = VehicleFactory(group=world.group, owner=customer)
    order = RepairOrder.objects.create(store=world.a, number="RO-OLD-1", customer=customer, vehicle=car,
                                         opened_at=timezone.now())
    chinese = RepairJob.objects.create(order=order, title="前刹车片厚度 (2 mm)", job_type="repair")
    english = RepairJob.objects.create(order=order, title="Rear brake pad thickness (2.5 mm)", job_type="repair")
    typed = RepairJob.objects.create(order=order, title="左前门异响检查", job_type="repair")
    with override("en"):
        assert job_title(chinese) == "Front brake pad thickness (2 mm)"
        assert job_title(english) == "Rear brake pad thickness (2.5 mm)"
        assert job_title(typed) == "左前门异响检查"
    with override("zh-hans"):
        assert job_title(chinese) == "前刹车片厚度 (2 mm)"
        assert job_title(english) == "后刹车片厚度 (2.5 mm)"
        assert job_title(typed) == "左前门异响检查"
