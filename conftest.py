"""Fixtures shared by the whole suite: one dealer group with two stores and staff for every role."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from aftersales.common.tests.factories import DealerGroupFactory, StoreFactory, make_staff
from aftersales.staff.roles import ROLE_PERMISSIONS, sync_roles


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


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
