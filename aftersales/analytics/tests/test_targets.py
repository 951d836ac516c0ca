from __future__ import annotations

from decimal import Decimal

import pytest

from aftersales.analytics.models import KpiSettings
from aftersales.common.tests.factories import make_staff
from aftersales.staff.roles import Role, sync_roles

from . import factories as f

pytestmark = pytest.mark.django_db


def test_manager_sets_targets_bad_values_named_at_once(client):
    sync_roles()
    gz = f.store()
    other = f.store(group=gz.group)
    manager = make_staff(Role.STORE_MANAGER, gz)
    client.force_login(manager)
    page = client.get(f"/cockpit/targets/?store={gz.pk}")
    assert page.status_code == 200 and page.context["form"]["csat_target"].value() == Decimal("90")
    data = {b.name: "" if b.value() is None else b.value() for b in page.context["form"]}
    data.update(store=gz.pk, csat_target="120", churn_target="-1", waiting_baseline="42")
    r = client.post("/cockpit/targets/", data)
    assert r.status_code == 422 and set(r.context["form"].errors) == {"csat_target", "churn_target"}
    assert not KpiSettings.objects.exists()
    data.update(csat_target="92", churn_target="5")
    assert client.post("/cockpit/targets/", data).status_code == 302
    s = KpiSettings.objects.get(store=gz)
    assert s.csat_target == Decimal("92") and s.waiting_baseline == Decimal("42")
    # another store of the group is not the manager's: 404, nothing written
    data.update(store=other.pk, csat_target="50")
    assert client.post("/cockpit/targets/", data).status_code == 404
    assert client.get(f"/cockpit/targets/?store={other.pk}").status_code == 404
    assert not KpiSettings.objects.filter(store=other).exists()
    client.force_login(make_staff(Role.SERVICE_ADVISOR, gz))
    assert client.get("/cockpit/targets/").status_code == 403
