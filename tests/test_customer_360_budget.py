"""The customer 360 page runs a constant number of queries whatever the customer's history (issue 19: bench/README
claimed 15/16 while the page ran 24–30; this test holds the page to its measured budget)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from aftersales.common.tests.factories import CustomerFactory, VehicleFactory

pytestmark = pytest.mark.django_db

# Measured 2026-12-07 (SQLite, test settings; the session and the signed-in user included): 23 for an advisor, 24
# for a group admin, with the auth context cached (issue 19). Raise it only with a reason written here.
# 25: the connected car's open alerts (issue 21, one query for all the customer's cars).
BUDGET_360 = 25


def _page_queries(client, customer):
    client.get(f"/customers/{customer.pk}/")  # warm: the cached auth context, the content types
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(f"/customers/{customer.pk}/")
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("who", ["advisor", "admin"])
def test_customer_360_page_has_a_constant_query_budget(world, who):
    client = Client()
    client.force_login(getattr(world, who))
    small = CustomerFactory(home_store=world.a)
    VehicleFactory(owner=small)
    big = CustomerFactory(home_store=world.a)
    for _ in range(6):
        VehicleFactory(owner=big)
    few, many = _page_queries(client, small), _page_queries(client, big)
    print(f"customer 360 page ({who}): {few} queries (1 car), {many} (6 cars)")
    assert many == few, (few, many)
    assert many <= BUDGET_360, many
