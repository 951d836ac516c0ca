"""The workshop floor in the reader's language (issue 16): the board, a technician's jobs and the dispatch page show a
job written in both languages ("全车检测 / Vehicle inspection") in one, and a job named from the labour guide in
Chinese by the guide's English name on an English screen."""

from __future__ import annotations

import pytest
from django.test import Client

from aftersales.estimates.services import labour_operation_save
from aftersales.workshop import floor_services as fs

from .conftest import authorized_order

pytestmark = pytest.mark.django_db


def client_in(user, language: str) -> Client:
    user.language = language
    user.save(update_fields=["language"])
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def jobs(floor):
    labour_operation_save(
        actor=floor.world.manager, group=floor.world.group, code="BRK-F", name_zh="更换前刹车片",
        name_en="Replace front brake pads", standard_hours="1.5", job_type="repair",
    )
    order = authorized_order(floor, [
        {"title": "更换前刹车片", "standard_hours": "1.5", "required_skill": "maintenance",
         "lines": [{"kind": "labour", "code": "BRK-F", "description": "更换前刹车片", "quantity": "1.5", "unit_price": "300"}]},
        {"title": "全车检测 / Vehicle inspection", "standard_hours": "1", "required_skill": "maintenance"},
    ], promised="17:00")
    for n, job in enumerate(order.made_jobs):
        fs.job_dispatch(actor=floor.foreman, job=job, technician=floor.tech, bay=floor.bays[n])
    return order.made_jobs


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_board_my_jobs_and_dispatch_name_jobs_in_the_readers_language(floor, jobs, language):
    wanted, unwanted = (
        (["Replace front brake pads", "Vehicle inspection"], ["更换前刹车片", "全车检测"]) if language == "en"
        else (["更换前刹车片", "全车检测"], ["Replace front brake pads", "Vehicle inspection"])
    )
    foreman = client_in(floor.foreman, language)
    pages = {
        "board": foreman.get("/workshop/board/").content.decode(),
        "my jobs": client_in(floor.tech, language).get("/workshop/my-jobs/").content.decode(),
        "dispatch": foreman.get(f"/workshop/jobs/{jobs[1].pk}/dispatch/").content.decode(),
    }
    for name, page in pages.items():
        shown = wanted[1:] if name == "dispatch" else wanted
        assert all(w in page for w in shown), (name, shown)
        assert not any(u in page for u in unwanted), (name, [u for u in unwanted if u in page])
