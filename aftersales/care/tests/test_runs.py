"""A manager runs the reminder sweep or the playbooks from a screen and follows the run's progress (issue 15)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from aftersales.care.choices import RunStatus
from aftersales.care.models import SweepRun
from aftersales.care.runs import run_process, run_request, runs_sweep
from aftersales.common.errors import Forbidden
from aftersales.common.tests.factories import CustomerFactory, VehicleFactory

pytestmark = pytest.mark.django_db


def test_manager_runs_the_reminder_sweep_from_the_calendar_and_follows_it(client, world):
    VehicleFactory(owner=CustomerFactory(home_store=world.a))
    client.force_login(world.manager)
    page = client.get(f"/care/?store={world.a.pk}").content.decode()
    assert 'data-testid="run-now-reminders"' in page
    response = client.post(f"/care/runs/?store={world.a.pk}", {"kind": "reminders"})
    run = SweepRun.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/care/runs/{run.pk}/"
    assert (run.store, run.kind, run.status, run.requested_by) == (world.a, "reminders", "queued", world.manager)
    # a second click while it waits is the same run
    client.post(f"/care/runs/?store={world.a.pk}", {"kind": "reminders"})
    assert SweepRun.objects.count() == 1
    partial = client.get(f"/care/runs/{run.pk}/", HTTP_HX_REQUEST="true").content.decode()
    assert 'data-status="queued"' in partial and 'hx-trigger="every 2s"' in partial and "<html" not in partial
    run_process(run.pk)
    run.refresh_from_db()
    assert run.status == RunStatus.DONE and run.result["vehicles"] >= 1 and run.finished_at is not None
    partial = client.get(f"/care/runs/{run.pk}/", HTTP_HX_REQUEST="true").content.decode()
    assert 'data-status="done"' in partial and "hx-trigger" not in partial and 'data-testid="run-result"' in partial
    assert run_process(run.pk).status == RunStatus.DONE  # twice: nothing more happens
    assert [e.to_state for e in run.events.all()] == ["running", "done"]
    # the page links the last run
    assert f"/care/runs/{run.pk}/" in client.get(f"/care/?store={world.a.pk}").content.decode()


def test_playbook_run_from_the_playbooks_page(client, world):
    client.force_login(world.manager)
    assert 'data-testid="run-now-playbooks"' in client.get(f"/care/playbooks/?store={world.a.pk}").content.decode()
    client.post(f"/care/runs/?store={world.a.pk}", {"kind": "playbooks"})
    run = SweepRun.objects.get(kind="playbooks")
    run_process(run.pk)
    run.refresh_from_db()
    assert run.status == RunStatus.DONE and set(run.result) == {"enrolled", "advanced"}


def test_who_may_run_what_and_where(client, world):
    with pytest.raises(Forbidden):
        run_request(actor=world.advisor, store=world.a, kind="playbooks")  # advisors do not run playbooks
    with pytest.raises(Forbidden):
        run_request(actor=world.manager, store=world.b, kind="reminders")  # another store
    client.force_login(world.advisor)
    assert 'data-testid="run-now-playbooks"' not in client.get(f"/care/?store={world.a.pk}").content.decode()
    assert client.post(f"/care/runs/?store={world.a.pk}", {"kind": "playbooks"}).status_code == 403
    client.force_login(world.manager)
    assert client.post(f"/care/runs/?store={world.b.pk}", {"kind": "reminders"}).status_code in (403, 404)
    other = run_request(actor=world.manager_b, store=world.b, kind="reminders")
    assert client.get(f"/care/runs/{other.pk}/").status_code == 404
    response = client.post(f"/care/runs/?store={world.a.pk}", {"kind": "everything"})
    assert response.status_code == 302 and SweepRun.objects.filter(store=world.a).count() == 0
    assert not SweepRun.objects.filter(requested_by=world.advisor).exists()


def test_a_run_the_worker_never_got_is_started_by_the_periodic_tick(world):
    run = run_request(actor=world.manager, store=world.a, kind="reminders")
    assert runs_sweep(now=timezone.now()) == 0  # just queued: the nudge may still come
    assert runs_sweep(now=timezone.now() + dt.timedelta(minutes=2)) == 1
    run.refresh_from_db()
    assert run.status == RunStatus.DONE
