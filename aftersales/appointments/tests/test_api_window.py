"""The availability window: a month view in one call, the same slots as asking day by day."""

import datetime as dt

from aftersales.common.tests.api_helpers import Api, assert_error


def test_window_matches_day_by_day_and_bounds_days(shop):
    api = Api.session(shop.world.advisor)
    first = shop.monday
    window = api.get("/api/appointments/availability/window", {
        "date": first.isoformat(), "service_type_id": shop.maintenance.pk, "days": 7, "store_id": shop.store.pk,
    })
    assert window.status_code == 200
    days = window.json()["days"]
    assert [d["date"] for d in days] == [(first + dt.timedelta(days=i)).isoformat() for i in range(7)]
    for day in days:
        single = api.get("/api/appointments/availability", {
            "date": day["date"], "service_type_id": shop.maintenance.pk, "store_id": shop.store.pk,
        }).json()
        assert [s["start"] for s in day["slots"]] == [s["start"] for s in single["slots"]], day["date"]
    assert any(day["slots"] for day in days)
    assert days[6]["slots"] == []  # Sunday: closed
    body = assert_error(api.get("/api/appointments/availability/window", {
        "date": first.isoformat(), "service_type_id": shop.maintenance.pk, "days": 40,
    }), 422, "days_range")
    assert body["field"] == "days"
