"""``aftersales setup``: a real dealer group, its first store and its first administrator (issue 13, item 2)."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.utils import translation

from aftersales.common.models import AuditEvent
from aftersales.staff.models import User
from aftersales.staff.roles import Role
from aftersales.stores.models import DealerGroup, OpeningPeriod, Store

pytestmark = pytest.mark.django_db

GOOD = {
    "group": "珠江汽车服务 / Pearl River Auto",
    "store_code": "fs",
    "store_name": "佛山禅城店 / Foshan Chancheng",
    "admin_user": "boss",
    "admin_password": "Qiche-Fuwu-2026!",
}


def _setup(lang="en", **overrides):
    out = io.StringIO()
    with translation.override(lang):
        call_command("setup", "--no-input", **{**GOOD, **overrides}, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def _counts():
    return (DealerGroup.objects.count(), Store.objects.count(), User.objects.count(), OpeningPeriod.objects.count(),
            AuditEvent.objects.count())


def test_setup_creates_group_store_hours_and_an_administrator_who_can_sign_in_from_anywhere():
    out = _setup()
    assert "Pearl River Auto" in out and "boss" in out
    group = DealerGroup.objects.get(name=GOOD["group"])
    store = Store.objects.get(group=group, code="fs")
    assert store.name == GOOD["store_name"] and store.time_zone == "Asia/Shanghai"
    periods = list(store.opening_periods.values_list("weekday", "opens", "closes"))
    assert len(periods) == 7 and {str(o) for _w, o, _c in periods} == {"08:30:00", "09:00:00"}
    user = User.objects.get(username="boss")
    assert user.is_superuser and user.is_staff and not user.is_demo and user.dealer_group == group
    assert list(user.groups.values_list("name", flat=True)) == [Role.GROUP_ADMIN]
    assert list(user.stores.all()) == [store]
    assert AuditEvent.objects.filter(action__startswith="setup.").count() == 3
    client = Client(REMOTE_ADDR="203.0.113.7")
    assert client.post("/login/", {"username": "boss", "password": GOOD["admin_password"]}).status_code == 302


def test_setup_takes_its_values_from_the_environment(monkeypatch):
    for key, env in [("group", "GROUP"), ("store_code", "STORE_CODE"), ("store_name", "STORE_NAME"),
                     ("admin_user", "ADMIN_USER"), ("admin_password", "ADMIN_PASSWORD")]:
        monkeypatch.setenv(f"AFTERSALES_SETUP_{env}", GOOD[key])
    monkeypatch.setenv("AFTERSALES_SETUP_TIME_ZONE", "Asia/Urumqi")
    call_command("setup", "--no-input", stdout=io.StringIO())
    assert Store.objects.get(code="fs").time_zone == "Asia/Urumqi"
    assert User.objects.get(username="boss").check_password(GOOD["admin_password"])


def test_every_bad_field_is_named_at_once_and_nothing_is_written(world):
    before = _counts()
    with pytest.raises(CommandError) as caught:
        _setup(group="", store_code="not a code!", store_name="", time_zone="Mars/Olympus",
               admin_user=world.advisor.username, admin_password="demo1234")
    message = str(caught.value)
    for field in ("--group:", "--store-code:", "--store-name:", "--time-zone:", "--admin-user:", "--admin-password:"):
        assert field in message, (field, message)
    assert "Mars/Olympus" in message and "already taken" in message
    assert _counts() == before
    with pytest.raises(CommandError) as caught:  # in the operator's language
        _setup(lang="zh-hans", group="")
    assert "请填写经销商集团名称" in str(caught.value)


def test_a_bad_user_name_and_an_empty_password_are_refused(world):
    with pytest.raises(CommandError) as caught:
        _setup(admin_user="has space", admin_password="")
    assert "--admin-user:" in str(caught.value) and "--admin-password:" in str(caught.value)
    assert not DealerGroup.objects.filter(name=GOOD["group"]).exists()


def test_setup_refuses_to_run_twice_for_the_same_group():
    _setup()
    before = _counts()
    with pytest.raises(CommandError) as caught:
        _setup(store_code="fs2", admin_user="boss2")
    assert "already set up" in str(caught.value)
    assert _counts() == before
