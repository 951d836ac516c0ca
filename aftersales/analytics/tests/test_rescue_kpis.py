"""The rescue and damage-assessment figures on the cockpit (issue 20): response time, share on scene within the
promised ETA, the crews' acceptance, the assessment time and its reduction against the store's baseline, per store."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from aftersales.analytics import kpis, selectors
from aftersales.analytics.periods import Period
from aftersales.rescue import services
from aftersales.rescue.tests.conftest import CAR, rescue  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db


def test_rescue_figures_per_store(rescue, clock):  # noqa: F811
    r = rescue
    start = clock("2026-12-08 09:00")
    case = services.case_create(actor=r.dispatcher, store=r.store, incident="accident", lat=CAR[0], lng=CAR[1], vehicle=r.vehicle)
    case = services.case_dispatch(actor=r.dispatcher, case=case, unit=r.tow)
    promised = case.promised_at
    case = services.case_crew_accept(actor=r.crew, case=case)
    clock("2026-12-08 09:12")
    services.case_on_scene(actor=r.crew, case=case)  # 12 min after the request, within the promise
    second = services.case_create(actor=r.dispatcher, store=r.store, incident="battery", lat=CAR[0], lng=CAR[1], vehicle=r.vehicle)
    second = services.case_dispatch(actor=r.dispatcher, case=second, unit=r.van)
    services.case_crew_decline(actor=r.crew2, case=second, reason="爆胎")  # declined: offered, not accepted
    now = timezone.now()
    scope = kpis.Scope([r.store, r.world.b], Period("day", start.date()), now)
    assert promised is not None and promised > start + dt.timedelta(minutes=12)
    assert kpis.BY_CODE["rescue_response"].value(*kpis.rescue_response(scope)[r.store.pk]) == Decimal("12.0")
    assert kpis.BY_CODE["rescue_within_eta"].value(*kpis.rescue_within_eta(scope)[r.store.pk]) == Decimal("100.0")
    assert kpis.BY_CODE["rescue_acceptance"].value(*kpis.rescue_acceptance(scope)[r.store.pk]) == Decimal("50.0")
    assert r.world.b.pk not in kpis.rescue_response(scope)
    drill = selectors.drill(user=r.world.manager, store_id=r.store.pk, code="rescue_response", kind="day", day=start.date(), now=now)
    assert drill["total"] == 1 and drill["counted"] == 1
    client = Client()
    client.force_login(r.world.manager)
    page = client.get(f"/cockpit/?store={r.store.pk}&period=day&date={start.date()}").content.decode()
    assert 'data-testid="tile-rescue_response"' in page or "rescue_response" in page
    assert client.get(f"/cockpit/rescue_response/?store={r.store.pk}&period=day&date={start.date()}").status_code == 200
    assert client.get(f"/cockpit/rescue_response/?store={r.world.b.pk}").status_code == 404
