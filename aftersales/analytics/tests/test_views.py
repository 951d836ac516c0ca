"""The cockpit pages: who may see them, the scope of every figure and drill-down, a constant number of queries."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from aftersales.analytics import selectors
from aftersales.common.errors import Forbidden, NotFound
from aftersales.common.tests.factories import make_staff
from aftersales.staff.roles import Role, sync_roles

from . import factories as f

pytestmark = pytest.mark.django_db
NOW = f.at("2026-12-05", "12:00")


@pytest.fixture
def world():
    sync_roles()
    gz = f.store(name="广州店")
    sz = f.store(group=gz.group, name="深圳店")
    far = f.store(name="Other group")
    data = {"gz": gz, "sz": sz, "far": far}
    for key, s in (("gz", gz), ("sz", sz), ("far", far)):
        c = f.customer(s)
        o = f.order(s, c, opened=f.at("2026-11-10"), delivered=f.at("2026-11-10", "15:00"))
        f.invoice(o, total="300")
        data[f"fu_{key}"] = f.followup(o, answered=f.at("2026-11-11"), overall=9 if key == "gz" else 3, recommend=10)
        data[f"cust_{key}"] = c
    data["manager"] = make_staff(Role.STORE_MANAGER, gz)
    data["admin"] = make_staff(Role.GROUP_ADMIN, gz)
    data["advisor"] = make_staff(Role.SERVICE_ADVISOR, gz)
    return data


def _get(client, user, url):
    client.force_login(user)
    return client.get(url)


def test_roles_other_than_manager_and_group_admin_are_forbidden(client, world):
    for role in (Role.SERVICE_ADVISOR, Role.TECHNICIAN, Role.CASHIER, Role.CALL_CENTRE, Role.PARTS_CLERK, Role.FOREMAN, Role.QC_INSPECTOR):
        user = make_staff(role, world["gz"])
        assert _get(client, user, "/cockpit/").status_code == 403, role
        assert _get(client, user, "/cockpit/csat/").status_code == 403, role
    client.logout()
    assert client.get("/cockpit/").status_code == 302  # to sign-in


def test_manager_sees_their_store_and_never_another(client, world):
    r = _get(client, world["manager"], "/cockpit/?period=month&date=2026-11-15")
    assert r.status_code == 200
    body = r.content.decode()
    assert "广州店" in body and "深圳店" not in body and 'data-testid="tile-csat"' in body
    assert _get(client, world["manager"], f"/cockpit/?store={world['sz'].pk}").status_code == 404
    assert _get(client, world["manager"], f"/cockpit/?store={world['far'].pk}").status_code == 404
    assert _get(client, world["manager"], f"/cockpit/csat/?store={world['sz'].pk}").status_code == 404
    assert _get(client, world["manager"], "/cockpit/nonsense/").status_code == 404
    # "group" for a one-store manager is their store
    d = selectors.dashboard(user=world["manager"], store_id=None, day=dt.date(2026, 11, 15), now=NOW)
    assert [s.pk for s in d["scope"].stores] == [world["gz"].pk]


def test_drill_down_lists_only_the_scoped_records(client, world):
    r = _get(client, world["manager"], "/cockpit/csat/?period=month&date=2026-11-15")
    assert r.status_code == 200
    body = r.content.decode()
    assert world["cust_gz"].name in body and world["cust_sz"].name not in body and world["cust_far"].name not in body
    d = selectors.drill(user=world["admin"], store_id=None, code="csat", day=dt.date(2026, 11, 15), now=NOW)
    assert d["total"] == 2 and d["counted"] == 1  # the group: gz (9, counted) and sz (3); never the other group's


def test_group_admin_sees_the_group_and_each_store(client, world):
    d = selectors.dashboard(user=world["admin"], store_id=None, day=dt.date(2026, 11, 15), now=NOW)
    assert d["is_group"] and {s.pk for s in d["scope"].stores} == {world["gz"].pk, world["sz"].pk}
    csat = next(r for r in d["headline"] if r["kpi"].code == "csat")
    assert str(csat["value"]) == "50.0" and csat["rag"] == "red"
    assert [str(c["value"]) for c in csat["stores"]] == ["100.0", "0.0"] or [str(c["value"]) for c in csat["stores"]] == ["0.0", "100.0"]
    one = selectors.dashboard(user=world["admin"], store_id=world["sz"].pk, day=dt.date(2026, 11, 15), now=NOW)
    assert not one["is_group"] and str(next(r for r in one["headline"] if r["kpi"].code == "csat")["value"]) == "0.0"
    with pytest.raises(NotFound):
        selectors.dashboard(user=world["admin"], store_id=world["far"].pk, now=NOW)
    r = _get(client, world["admin"], "/cockpit/?store=group&period=month&date=2026-11-15")
    assert r.status_code == 200 and 'data-testid="store-table"' in r.content.decode()


def test_selector_refuses_a_role_without_the_permission(world):
    with pytest.raises(Forbidden):
        selectors.dashboard(user=world["advisor"], store_id=None, now=NOW)
    with pytest.raises(Forbidden):
        selectors.drill(user=world["advisor"], store_id=None, code="csat", now=NOW)


def test_htmx_swap_returns_the_fragment(client, world):
    client.force_login(world["manager"])
    r = client.get("/cockpit/?period=quarter&date=2026-11-15", HTTP_HX_REQUEST="true")
    body = r.content.decode()
    assert r.status_code == 200 and "<html" not in body and "2026-Q4" in body and 'data-chart="chart-csat"' in body


def test_user_typed_text_is_escaped(client, world):
    c = world["cust_gz"]
    c.name = "<script>alert(1)</script>"
    c.save()
    body = _get(client, world["manager"], "/cockpit/csat/?period=month&date=2026-11-15").content.decode()
    assert "<script>alert(1)</script>" not in body and "&lt;script&gt;" in body


def test_dashboard_query_count_is_constant(client, world):
    client.force_login(world["admin"])
    url = "/cockpit/?store=group&period=month&date=2026-11-15"
    client.get(url)
    with CaptureQueriesContext(connection) as small:
        assert client.get(url).status_code == 200
    for i in range(4):
        s = world["gz" if i % 2 else "sz"]
        o = f.order(s, opened=f.at("2026-11-12"), delivered=f.at("2026-11-12", "15:00"))
        f.invoice(o, total="100")
        f.followup(o, answered=f.at("2026-11-13"), overall=8, recommend=9)
    with CaptureQueriesContext(connection) as large:
        assert client.get(url).status_code == 200
    assert len(large.captured_queries) == len(small.captured_queries)
    # 27 figures; the six headline ones over six periods; repurchase first looks for its period row (+6, issue 18)
    assert len(small.captured_queries) <= 146, [q["sql"][:120] for q in small.captured_queries if "periodrollup" in q["sql"]]
