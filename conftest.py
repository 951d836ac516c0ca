"""Fixtures shared by the whole suite: one dealer group with two stores and staff for every role."""

from __future__ import annotations

import datetime as dt
import os
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
import time_machine

from aftersales.common.tests.factories import DealerGroupFactory, StoreFactory, make_staff
from aftersales.staff.roles import ROLE_PERMISSIONS, sync_roles


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _language():
    """Every test starts in English, whatever the test before it left active (a request activates its language and
    Django never resets it, so with tests run in parallel in any order the leftover would differ); a test that needs
    Chinese says so (``translation.override("zh-hans")`` or the request's language)."""
    from django.utils import translation

    translation.activate("en")
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _empty_cache():
    """Attempt counters and cached tokens never leak from one test into the next."""
    from django.core.cache import caches

    caches["default"].clear()


@pytest.fixture(autouse=True)
def _roles(db):
    """Role groups exist in every test (post_migrate creates them; a flush by transactional tests removes them)."""
    from django.contrib.auth.models import Group

    if Group.objects.count() < len(ROLE_PERMISSIONS):
        sync_roles()


@pytest.fixture
def world(db):
    """Group with stores A and B; one user per role at store A, an advisor and a manager at store B."""
    group = DealerGroupFactory(name="Test Motors")
    a = StoreFactory(group=group, code="a", name="Store A")
    b = StoreFactory(group=group, code="b", name="Store B")
    staff = {role: make_staff(role, a) for role in ROLE_PERMISSIONS}
    return SimpleNamespace(
        group=group,
        a=a,
        b=b,
        staff=staff,
        advisor=staff["service_advisor"],
        manager=staff["store_manager"],
        technician=staff["technician"],
        admin=staff["group_admin"],
        advisor_b=make_staff("service_advisor", b),
        manager_b=make_staff("store_manager", b),
    )


# ---- the clock the tests control --------------------------------------------------------------------------------
# AFTERSALES_TEST_CLOCK moves every test to one local time in Asia/Shanghai (the clock ticks on from there), so a
# run is reproducible whatever the hour it starts at and CI covers the hours that broke before (see CONTRIBUTING):
#   "sun 07:50"        the next Sunday at 07:50 after the real now
#   "month-end 20:45"  the next last day of a month at 20:45
#   "09:35"            the next 09:35
#   "2027-01-31T23:50+08:00"  an absolute instant (must lie ahead of the real time: browser cookies use real time)
# Tests that start other processes (workers, the server) run on the real clock: mark them ``real_clock``.
_WEEKDAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}


def resolve_clock(spec: str, *, now: dt.datetime | None = None) -> dt.datetime:
    """The instant a clock spec names (the next one after ``now`` for the relative forms)."""
    spec = spec.strip()
    if "T" in spec:
        instant = dt.datetime.fromisoformat(spec)
        if instant.tzinfo is None:
            raise ValueError(f"AFTERSALES_TEST_CLOCK needs an offset: {spec!r}")
        return instant
    zone = ZoneInfo("Asia/Shanghai")
    now = (now or dt.datetime.now(dt.UTC)).astimezone(zone)
    *day, hhmm = spec.split()
    hour, minute = (int(x) for x in hhmm.split(":"))
    candidate = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if candidate <= now:
        candidate += dt.timedelta(days=1)

    def wanted(d: dt.datetime) -> bool:
        if not day:
            return True
        if day[0] == "month-end":
            return (d + dt.timedelta(days=1)).day == 1
        return d.weekday() == _WEEKDAYS[day[0]]

    while not wanted(candidate):
        candidate += dt.timedelta(days=1)
    return candidate


_CLOCK = resolve_clock(os.environ["AFTERSALES_TEST_CLOCK"]) if os.environ.get("AFTERSALES_TEST_CLOCK") else None


def pytest_report_header(config):
    if _CLOCK is not None:
        return f"clock: every test starts at {_CLOCK.isoformat()} (AFTERSALES_TEST_CLOCK)"
    return "clock: real (set AFTERSALES_TEST_CLOCK to run at a chosen local time)"


@pytest.fixture(autouse=True)
def _test_clock(request):
    if _CLOCK is None or request.node.get_closest_marker("real_clock"):
        yield
        return
    with time_machine.travel(_CLOCK, tick=True):
        yield


@pytest.fixture
def clock():
    """Move the clock in a test: ``clock("2026-11-30 20:45")`` is that local time in Asia/Shanghai (ticking on)."""
    stack: list[time_machine.travel] = []

    def move(local: str, *, tick: bool = True) -> dt.datetime:
        instant = dt.datetime.fromisoformat(local)
        if instant.tzinfo is None:
            instant = instant.replace(tzinfo=ZoneInfo("Asia/Shanghai"))
        traveller = time_machine.travel(instant, tick=tick)
        traveller.start()
        stack.append(traveller)
        return instant

    yield move
    while stack:
        stack.pop().stop()
