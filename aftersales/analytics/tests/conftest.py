"""Fixtures shared by the analytics tests."""

from __future__ import annotations

import pytest

from aftersales.common.tests.factories import make_staff
from aftersales.staff.roles import Role, sync_roles

from . import factories as f


@pytest.fixture
def staff_stores(db):
    """Two stores of one group and the people the scorecard and staff-fact tests attribute to: at 广州店 an advisor
    (顾问甲) and two technicians (技师一, 技师二); at 深圳店 an advisor of its own (深圳顾问, ``other``)."""
    sync_roles()
    gz = f.store(name="广州店")
    sz = f.store(group=gz.group, name="深圳店")
    return {
        "gz": gz, "sz": sz,
        "adv": make_staff(Role.SERVICE_ADVISOR, gz, display_name="顾问甲"),
        "t1": make_staff(Role.TECHNICIAN, gz, display_name="技师一"),
        "t2": make_staff(Role.TECHNICIAN, gz, display_name="技师二"),
        "other": make_staff(Role.SERVICE_ADVISOR, sz, display_name="深圳顾问"),
    }
