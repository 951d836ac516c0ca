"""The sales DMS's gross-profit import API: token auth, every bad row and field named at once with nothing written,
the preview (dry run), idempotent per store and month, another group's store refused."""

from __future__ import annotations

from decimal import Decimal

import pytest

from aftersales.analytics.models import GrossProfitMonth
from aftersales.common.models import AuditEvent
from aftersales.common.tests.api_helpers import Api, token_issuer, token_key_for
from aftersales.common.tests.factories import make_staff
from aftersales.staff.roles import Role, sync_roles

from . import factories as f

pytestmark = pytest.mark.django_db
URL = "/api/analytics/gross-profit"


@pytest.fixture
def world():
    sync_roles()
    gz = f.store(code="gz", name="广州店")
    other = f.store(code="sh", name="上海店")  # another group's store
    manager = make_staff(Role.STORE_MANAGER, gz)
    advisor = make_staff(Role.SERVICE_ADVISOR, gz)
    root = token_issuer(gz)
    return {"gz": gz, "other": other, "manager": Api.bearer(token_key_for(manager, actor=root)),
            "advisor": Api.bearer(token_key_for(advisor, actor=root))}


def test_every_bad_row_and_field_is_named_and_nothing_is_written(world):
    r = world["manager"].request("post", URL, {"rows": [
        {"store": "gz", "month": "2026-13", "new_car": "abc"},
        {"store": "sh", "month": "2026-10", "new_car": 1000, "other": 20},
        {"store": "", "month": "2026-09", "new_car": 5, "other": "x"},
        {"store": "gz", "month": "2026-11", "new_car": 100},
        {"store": "gz", "month": "2026-11", "new_car": 200},
    ]})
    assert r.status_code == 422, r.content
    body = r.json()
    assert body["code"] == "import_invalid"
    assert [(e["row"], e["field"]) for e in body["errors"]] == [
        (1, "rows.1.month"), (1, "rows.1.new_car"), (2, "rows.2.store"), (3, "rows.3.store"), (3, "rows.3.other"), (5, "rows.5.month")]
    assert not GrossProfitMonth.objects.exists()


def test_preview_then_import_idempotent_per_store_and_month(world):
    rows = {"rows": [{"store": "gz", "month": "2026-11", "new_car": "125,000.50", "other": 300},
                     {"store": "gz", "month": "2026年10月", "new_car": 90000}]}
    preview = world["manager"].request("post", URL, {**rows, "dry_run": True})
    assert preview.status_code == 200, preview.content
    assert preview.json()["written"] == 0 and [r["status"] for r in preview.json()["rows"]] == ["new", "new"]
    assert not GrossProfitMonth.objects.exists()
    done = world["manager"].request("post", URL, rows)
    assert done.status_code == 200 and done.json()["written"] == 2
    nov = GrossProfitMonth.objects.get(store=world["gz"], month="2026-11-01")
    assert nov.new_car == Decimal("125000.50") and nov.other == Decimal("300.00") and nov.source == "DMS API"
    audits = AuditEvent.objects.filter(action="analytics.gross_profit_imported").count()
    again = world["manager"].request("post", URL, rows)
    assert again.json()["written"] == 0 and [r["status"] for r in again.json()["rows"]] == ["unchanged", "unchanged"]
    assert AuditEvent.objects.filter(action="analytics.gross_profit_imported").count() == audits
    changed = world["manager"].request("post", URL, {"rows": [{"store": "gz", "month": "2026-11", "new_car": 1}]})
    assert changed.json()["rows"][0]["status"] == "replaces" and changed.json()["written"] == 1
    assert GrossProfitMonth.objects.count() == 2 and GrossProfitMonth.objects.get(month="2026-11-01").new_car == 1


def test_refused_without_the_permission_or_a_token(world):
    assert world["advisor"].request("post", URL, {"rows": [{"store": "gz", "month": "2026-11", "new_car": 1}]}).status_code == 403
    assert Api.bearer("as_nope").request("post", URL, {"rows": []}).status_code == 401
    empty = world["manager"].request("post", URL, {"rows": []})
    assert empty.status_code == 422 and empty.json()["field"] == "rows"
    assert not GrossProfitMonth.objects.exists()
