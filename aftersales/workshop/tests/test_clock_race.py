"""One technician, many taps at once (two phones, a double tap, a flaky network retrying): threads with their own
database connections clock the same technician on to several jobs at the same moment. Whatever the interleaving,
the technician ends with exactly one open time entry, every other entry is closed, and nobody sees a database error.
SQLite serialises writers (IMMEDIATE transactions); PostgreSQL serialises on the technician's row (FOR UPDATE)."""

from __future__ import annotations

import pytest

from aftersales.appointments.tests.test_race import race
from aftersales.staff.models import User
from aftersales.workshop import floor_services as fs
from aftersales.workshop.choices import JobStatus
from aftersales.workshop.models import RepairJob, TimeEntry

from .conftest import authorized_order

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 6


def test_concurrent_clock_on_leaves_exactly_one_open_entry(floor):
    order = authorized_order(floor, [{"title": f"作业{i}", "standard_hours": "1"} for i in range(THREADS // 2)])
    jobs = [fs.job_dispatch(actor=floor.foreman, job=j, technician=floor.tech, bay=floor.bays[0]) for j in order.made_jobs]

    def work(i: int, prepared):
        if prepared is None:
            return User.objects.get(pk=floor.tech.pk), RepairJob.objects.get(pk=jobs[i % len(jobs)].pk)
        user, job = prepared
        return fs.clock_on(actor=user, job=job)

    results = race(work, THREADS)
    errors = [r for r in results if isinstance(r, BaseException)]
    assert not errors, errors
    open_entries = TimeEntry.objects.filter(technician=floor.tech, ended_at__isnull=True)
    assert open_entries.count() == 1
    # two taps on the same job share an entry: at most one entry per tap, at least one per job
    assert len(jobs) <= TimeEntry.objects.filter(technician=floor.tech).count() <= THREADS
    assert all(e.end_reason == "switch" for e in TimeEntry.objects.filter(ended_at__isnull=False))
    assert set(RepairJob.objects.filter(pk__in=[j.pk for j in jobs]).values_list("status", flat=True)) == {JobStatus.IN_PROGRESS}


def test_concurrent_clock_on_and_pause(floor):
    order = authorized_order(floor, [{"title": "A", "standard_hours": "1"}, {"title": "B", "standard_hours": "1"}])
    jobs = [fs.job_dispatch(actor=floor.foreman, job=j, technician=floor.tech, bay=floor.bays[0]) for j in order.made_jobs]

    def work(i: int, prepared):
        if prepared is None:
            return User.objects.get(pk=floor.tech.pk)
        if i % 3 == 2:
            return fs.clock_off(actor=prepared)
        return fs.clock_on(actor=prepared, job=jobs[i % 2])

    results = race(work, THREADS)
    assert not [r for r in results if isinstance(r, BaseException)], results
    assert TimeEntry.objects.filter(technician=floor.tech, ended_at__isnull=True).count() <= 1


def test_two_workers_running_the_silent_sweep_at_once_flag_once(floor):
    from aftersales.messaging.models import Message
    from aftersales.workshop.models import ProgressFlag

    order = authorized_order(floor)
    job = fs.job_dispatch(actor=floor.foreman, job=order.made_jobs[0], technician=floor.tech, bay=floor.bays[0])
    fs.clock_on(actor=floor.tech, job=job, at=floor.at("09:00"))
    now = floor.at("10:00")

    def work(i: int, prepared):
        if prepared is None:
            return True
        return fs.flag_silent_orders(now=now)

    results = race(work, 4)
    assert not [r for r in results if isinstance(r, BaseException)], results
    assert sum(results) == 1
    assert ProgressFlag.objects.filter(order=order).count() == 1
    assert Message.objects.filter(kind="workshop.progress_silent").count() == 1
