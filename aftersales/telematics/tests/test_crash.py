"""Crash / airbag flags in the message schema (issue 20): checked as booleans (every bad field named), stored on the
reading, and the alert text in both languages."""

from __future__ import annotations

import pytest
from django.test import Client

from aftersales.telematics import schema
from aftersales.telematics.models import Alert, Reading
from aftersales.telematics.services import problem_text

pytestmark = pytest.mark.django_db


def test_the_flags_are_booleans_and_every_bad_field_is_named():
    ok = schema.check_v1({"device": "OBD-1", "seq": 1, "time": "2026-12-07T08:30:00+08:00", "crash": True, "airbag": False})
    assert (ok.crash, ok.airbag) == (True, False)
    with pytest.raises(schema.Malformed) as bad:
        schema.check_v1({"device": "OBD-1", "seq": 1, "time": "2026-12-07T08:30:00+08:00", "crash": "yes", "airbag": 1})
    assert str(bad.value) == "crash: true or false; airbag: true or false"


def test_a_crash_reading_is_stored_and_explained_in_both_languages(tel):
    result = tel.send(1, crash=True, airbag=True)
    assert result.accepted, result.detail
    reading = Reading.objects.get()
    assert (reading.crash, reading.airbag) == (True, True)
    alerts = {a.kind: a for a in Alert.objects.all()}
    assert set(alerts) == {"crash", "airbag"} and {a.severity for a in alerts.values()} == {"critical"}
    assert problem_text(alerts["crash"], "zh-hans")[0] == "报告发生碰撞"
    assert problem_text(alerts["airbag"], "en")[0] == "reported that an airbag deployed"
    refused = tel.send(2, crash="maybe")
    assert (refused.accepted, refused.reason, refused.detail) == (False, "malformed", "crash: true or false")


def test_the_rules_page_shows_the_crash_rules_without_repeats_and_saves(tel):
    client = Client()
    client.force_login(tel.world.manager)
    page = client.get(f"/telematics/rules/?store={tel.world.a.pk}").content.decode()
    assert 'data-testid="rule-crash"' in page and 'name="crash-repeats"' not in page
    form = {f"{k}-present": "1" for k in ("crash",)}
    form.update({"crash-service_kind": "repair"})  # unticked: off
    assert client.post(f"/telematics/rules/?store={tel.world.a.pk}", form).status_code == 302
    from aftersales.telematics.models import AlertRule

    rule = AlertRule.objects.get(store=tel.world.a, kind="crash")
    assert (rule.enabled, rule.critical, rule.repeats) == (False, True, 1)
