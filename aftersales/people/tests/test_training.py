"""Training: a new hire's month signed off module by module by the mentor; a session with attendance and test
results; both shown on the person's own page; bad input names every field; another store's module is 404."""

from __future__ import annotations

import pytest
from django.test import Client

from aftersales.common.errors import ValidationFailed
from aftersales.people import training
from aftersales.people.models import NewHireProgramme, SessionAttendance, TrainingSession

from .helpers import today

pytestmark = pytest.mark.django_db


def test_programme_session_and_own_page(floor):
    d = today(floor.store)
    programme = training.programme_start(actor=floor.foreman, store=floor.store, person=floor.body, mentor=floor.tech,
                                         started_on=d)
    modules = list(programme.modules.all())
    assert len(modules) == 7
    training.module_sign_off(actor=floor.tech, module=modules[0])  # the mentor signs off
    with pytest.raises(ValidationFailed) as exc:
        training.session_record(actor=floor.foreman, store=floor.store, held_on="x", trainer="", topic="",
                                pass_mark="101", results={floor.body: "abc"})
    assert {e["field"] for e in exc.value.extra["errors"]} == {"held_on", "trainer", "topic", "pass_mark",
                                                                f"score-{floor.body.pk}"}
    assert not TrainingSession.objects.exists()
    training.session_record(actor=floor.foreman, store=floor.store, held_on=d, trainer="李工", topic="新能源高压安全",
                            results={floor.body: "85", floor.tech: ""})
    assert SessionAttendance.objects.count() == 2
    client = Client()
    client.force_login(floor.body)
    html = client.get("/people/me/").content.decode()
    assert 'data-testid="my-programme"' in html and "1 of 7" in html and "新能源高压安全" in html and "85" in html


def test_screens_and_scope(floor):
    d = today(floor.store)
    client = Client()
    client.force_login(floor.foreman)
    bad = client.post("/people/training/", {"action": "programme", "person": floor.body.pk, "mentor": floor.body.pk,
                                            "started_on": ""})
    assert bad.status_code == 422 and not NewHireProgramme.objects.exists()
    ok = client.post("/people/training/", {"action": "programme", "person": floor.body.pk, "mentor": floor.tech.pk,
                                           "started_on": d.isoformat()})
    assert ok.status_code == 302
    module = NewHireProgramme.objects.get().modules.first()
    assert client.post("/people/training/", {"action": "module", "module": module.pk, "done": "1"}).status_code == 302
    ok = client.post("/people/training/", {"action": "session", "held_on": d.isoformat(), "trainer": "李工",
                                           "topic": "投诉处理", "pass_mark": "60", f"attended-{floor.tech.pk}": "1",
                                           f"score-{floor.tech.pk}": "55"})
    assert ok.status_code == 302 and SessionAttendance.objects.get().passed is False
    other = Client()
    other.force_login(floor.world.manager_b)
    assert other.post("/people/training/", {"action": "module", "module": module.pk, "done": "0"}).status_code == 404
    assert other.get(f"/people/training/?store={floor.store.pk}").status_code == 404
    tech = Client()
    tech.force_login(floor.tech)
    assert tech.get("/people/training/").status_code == 403
