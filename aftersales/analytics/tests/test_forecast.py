"""The demand forecast: the national calendar, the back-test against the seasonal-naive baseline on generated history
(fixed dates and seed, whatever today is), the method picked by the history available, and the page beside capacity."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from aftersales.analytics import forecast as fc
from aftersales.analytics import selectors
from aftersales.common.errors import NotFound
from aftersales.common.tests.factories import make_staff
from aftersales.staff.roles import Role, sync_roles

from . import factories as f


def _generated(first: dt.date, last: dt.date, seed: int = 18) -> tuple[list[dt.date], list[float]]:
    """A workshop's daily orders: a weekly pattern (Sunday quiet), summer busier, public holidays at a third, make-up
    working days like a weekday, noise. Deterministic."""
    rng = random.Random(seed)
    weekday = [22, 20, 19, 20, 24, 28, 12]
    days, values = [], []
    d = first
    while d <= last:
        kind = fc.day_kind(d)
        base = weekday[d.weekday()] * (1.25 if d.month in (7, 8) else 1.0)
        if kind == fc.HOLIDAY:
            base *= 0.33
        elif kind == fc.MAKEUP:
            base = weekday[0]
        days.append(d)
        values.append(max(0.0, round(base + rng.gauss(0, 2))))
        d += dt.timedelta(days=1)
    return days, values


def test_national_calendar_days():
    assert fc.day_kind(dt.date(2025, 10, 1)) == fc.HOLIDAY  # National Day, a Wednesday
    assert fc.day_kind(dt.date(2025, 9, 28)) == fc.MAKEUP  # a Sunday worked for the golden week (调休)
    assert fc.day_kind(dt.date(2025, 10, 11)) == fc.MAKEUP  # a Saturday worked
    assert fc.day_kind(dt.date(2025, 10, 9)) == fc.WORKDAY
    assert fc.day_kind(dt.date(2025, 10, 12)) == fc.WEEKEND
    assert fc.day_kind(dt.date(2099, 1, 5)) == fc.UNKNOWN  # not yet published: the weekday alone decides
    assert fc.holiday_name(dt.date(2025, 10, 1))


def test_errors_and_seasonal_naive():
    assert fc.seasonal_naive([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14], 9) == [8, 9, 10, 11, 12, 13, 14, 8, 9]
    assert fc.seasonal_naive([], 2) == [0.0, 0.0]
    mae, mape = fc.errors([10, 0, 20], [8, 1, 25])
    assert mae == pytest.approx(8 / 3)
    assert mape == pytest.approx((0.2 + 0.25) / 2 * 100)  # the day without demand is left out of MAPE
    assert fc.errors([0, 0], [1, 1])[1] is None


def test_model_beats_the_baseline_over_national_day_and_is_used():
    # the held-out 28 days hold the 2025 golden week (1–8 October) and its make-up Saturday
    days, values = _generated(dt.date(2023, 10, 16), dt.date(2025, 10, 19))
    future = [dt.date(2025, 10, 20) + dt.timedelta(days=i) for i in range(84)]
    result = fc.forecast_series(days, values, future)
    assert result.method == "ets"
    assert result.model is not None and result.baseline is not None
    assert result.model.mae < result.baseline.mae
    assert result.model.mape < result.baseline.mape
    assert result.factors["holiday"] < 0.6  # learnt from the history's holidays
    assert len(result.values) == 84 and min(result.values) >= 0
    # the forecast keeps the weekly pattern: Saturdays busier than Sundays
    sat = [v for d, v in zip(future, result.values, strict=True) if d.weekday() == 5 and fc.day_kind(d) == fc.WEEKEND]
    sun = [v for d, v in zip(future, result.values, strict=True) if d.weekday() == 6 and fc.day_kind(d) == fc.WEEKEND]
    assert sum(sat) / len(sat) > sum(sun) / len(sun) + 5


def test_the_model_also_beats_the_baseline_over_the_spring_festival():
    days, values = _generated(dt.date(2024, 1, 1), dt.date(2025, 2, 16), seed=7)  # Spring Festival 28 Jan – 4 Feb 2025
    result = fc.forecast_series(days, values, [dt.date(2025, 2, 17)])
    assert result.method == "ets" and result.model.mae < result.baseline.mae


def test_a_forecast_in_the_holidays_is_lower():
    days, values = _generated(dt.date(2023, 9, 1), dt.date(2025, 9, 14))
    future = [dt.date(2025, 9, 15) + dt.timedelta(days=i) for i in range(28)]
    result = fc.forecast_series(days, values, future)
    by_day = dict(zip(future, result.values, strict=True))
    assert by_day[dt.date(2025, 10, 2)] < 0.6 * by_day[dt.date(2025, 10, 9)]  # Thursday in the golden week vs after


def test_method_is_picked_by_the_history_available():
    days, values = _generated(dt.date(2025, 3, 3), dt.date(2025, 3, 30))  # four weeks: nothing to back-test
    short = fc.forecast_series(days, values, [dt.date(2025, 3, 31)])
    assert short.method == "naive" and short.model is None and short.baseline is None
    days, values = _generated(dt.date(2025, 3, 3), dt.date(2025, 4, 20))  # seven weeks: the baseline back-tested only
    mid = fc.forecast_series(days, values, [dt.date(2025, 4, 21)])
    assert mid.method == "naive" and mid.model is None and mid.baseline is not None
    days, values = _generated(dt.date(2025, 1, 6), dt.date(2025, 6, 29))  # half a year: ETS without trend or months
    half = fc.forecast_series(days, values, [dt.date(2025, 6, 30)])
    assert half.model is not None and "m7" not in half.factors


def test_the_baseline_is_kept_where_the_model_does_not_beat_it():
    # a series that repeats its week exactly: the naive forecast is perfect, the model cannot beat it
    days = [dt.date(2025, 1, 6) + dt.timedelta(days=i) for i in range(140)]
    values = [float([5, 9, 2, 7, 3, 8, 1][d.weekday()]) for d in days]
    result = fc.forecast_series(days, values, [days[-1] + dt.timedelta(days=1)])
    assert result.baseline.mae == 0
    assert result.method == "naive"
    assert result.values == [5.0]


# ---- the page ------------------------------------------------------------------------------------------------
@pytest.fixture
def shop(db):
    from aftersales.appointments.models import Bay, TechnicianShift
    from aftersales.stores.models import OpeningPeriod

    sync_roles()
    gz = f.store(name="广州店")
    other = f.store(name="Other group")
    for wd in range(7):
        OpeningPeriod.objects.get_or_create(store=gz, weekday=wd, defaults={"opens": dt.time(8), "closes": dt.time(18)})
    Bay.objects.create(store=gz, name="A1")
    tech = make_staff(Role.TECHNICIAN, gz)
    for wd in range(7):
        TechnicianShift.objects.create(store=gz, user=tech, weekday=wd, start=dt.time(9), end=dt.time(13))  # 4 h a day
    c = f.customer(gz)
    v = f.vehicle(c)
    d = dt.date(2025, 8, 4)
    while d < dt.date(2025, 9, 29):  # eight weeks: two orders a day, one maintenance (1.5 h), one repair (3 h)
        o = f.order(gz, c, v, opened=f.at(d.isoformat(), "09:00"), status="checked_in")
        f.job(o, job_type="maintenance", standard_hours="1.5", status="authorized")
        f.job(o, job_type="repair", standard_hours="3.0", status="authorized")
        f.job(o, job_type="repair", standard_hours="9.0", status="declined")  # declined work is no demand
        f.order(gz, c, v, opened=f.at(d.isoformat(), "14:00"), status="cancelled")  # nor a cancelled order
        f.order(gz, c, v, opened=f.at(d.isoformat(), "15:00"), status="checked_in")
        d += dt.timedelta(days=1)
    return {"gz": gz, "other": other, "manager": make_staff(Role.STORE_MANAGER, gz),
            "advisor": make_staff(Role.SERVICE_ADVISOR, gz)}


NOW = f.at("2025-09-29", "10:00")  # history 4 Aug – 28 Sep 2025; the forecast from 30 September


def test_history_counts_orders_hours_and_jobs_per_type(shop):
    h = fc.store_history(shop["gz"], dt.date(2025, 8, 1), dt.date(2025, 9, 28))
    assert h["orders"][dt.date(2025, 8, 4)] == 2
    assert h["hours"][dt.date(2025, 8, 4)] == 4.5
    assert h["type:maintenance"][dt.date(2025, 8, 4)] == 1 and h["type:repair"][dt.date(2025, 8, 4)] == 1
    assert dt.date(2025, 8, 1) not in h["orders"]


def test_forecast_beside_capacity_flags_days_over_it(shop):
    data = selectors.demand_forecast(user=shop["manager"], store_id=shop["gz"].pk, weeks=4, now=NOW)
    assert data["today"] == dt.date(2025, 9, 29) and len(data["rows"]) == 28
    first = data["rows"][0]
    assert first["day"] == dt.date(2025, 9, 30) and first["tech_hours"] == 4 and first["bay_hours"] == 10
    assert first["hours"] == pytest.approx(4.5, abs=0.2) and first["over"]  # 4.5 h of work for 4 h on shift
    assert data["over_days"] >= 20
    assert {s["name"] for s in data["series"]} == {"orders", "hours", "type:maintenance", "type:repair"}
    national = next(r for r in data["rows"] if r["day"] == dt.date(2025, 10, 1))
    assert national["kind"] == fc.HOLIDAY and national["holiday"]


def test_forecast_page_is_scoped_and_shows_the_method(client, shop, clock):
    clock("2025-09-29 10:00")
    client.force_login(shop["manager"])
    r = client.get(f"/cockpit/forecast/?store={shop['gz'].pk}&weeks=8")
    assert r.status_code == 200
    body = r.content.decode()
    assert 'data-testid="backtest-orders"' in body and 'data-testid="over-2025-09-30"' in body
    assert "Seasonal naive" in body or "Holt-Winters" in body
    assert 'data-testid="forecast-chart"' in body
    assert client.get(f"/cockpit/forecast/?store={shop['other'].pk}").status_code == 404  # another group's store
    client.force_login(shop["advisor"])
    assert client.get("/cockpit/forecast/").status_code == 403
    with pytest.raises(NotFound):
        selectors.demand_forecast(user=shop["manager"], store_id=shop["other"].pk, now=NOW)


def test_a_gap_between_history_and_forecast_keeps_the_weekdays_aligned():
    # history up to Sunday; the forecast from Tuesday (today, Monday, is not complete): Saturdays stay Saturdays
    days = [dt.date(2025, 3, 3) + dt.timedelta(days=i) for i in range(8 * 7)]
    values = [30.0 if d.weekday() == 5 else 10.0 for d in days]
    future = [days[-1] + dt.timedelta(days=2 + i) for i in range(14)]
    result = fc.forecast_series(days, values, future)
    assert result.days == future
    assert [d for d, v in zip(future, result.values, strict=True) if v > 20] == [d for d in future if d.weekday() == 5]
