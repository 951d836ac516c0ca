import datetime as dt

import pytest

from aftersales.common.tests.factories import StoreFactory
from aftersales.stores.calendar import add_business_days, is_business_day, opening_periods
from aftersales.stores.models import Holiday, HolidayKind, OpeningPeriod


@pytest.fixture
def store(db):
    store = StoreFactory()
    for weekday in range(5):
        OpeningPeriod.objects.create(store=store, weekday=weekday, opens=dt.time(8, 30), closes=dt.time(18))
        OpeningPeriod.objects.create(store=store, weekday=weekday, opens=dt.time(18), closes=dt.time(21), kind="evening")
    for weekday in (5, 6):
        OpeningPeriod.objects.create(store=store, weekday=weekday, opens=dt.time(9), closes=dt.time(17), kind="weekend")
    # National Day week 2026: closed Thu 1 Oct – Wed 7 Oct, make-up workday Sat 10 Oct
    for day in range(1, 8):
        Holiday.objects.create(store=store, date=dt.date(2026, 10, day), name="国庆节")
    Holiday.objects.create(store=store, date=dt.date(2026, 10, 10), name="调休", kind=HolidayKind.WORKDAY)
    return store


def test_business_days_follow_holidays_and_makeup_days(store):
    assert is_business_day(store, dt.date(2026, 9, 30))
    assert not is_business_day(store, dt.date(2026, 10, 1))
    assert not is_business_day(store, dt.date(2026, 10, 4))
    assert is_business_day(store, dt.date(2026, 10, 10))  # Saturday, but a make-up workday
    assert not is_business_day(store, dt.date(2026, 10, 11))
    # 3 business days after Wed 30 Sep: Thu 8, Fri 9, Sat 10 Oct
    assert add_business_days(store, dt.date(2026, 9, 30), 3) == dt.date(2026, 10, 10)
    assert add_business_days(store, dt.date(2026, 11, 20), 1) == dt.date(2026, 11, 23)  # Fri → Mon


def test_opening_periods_include_evening_and_weekend_slots(store):
    monday = opening_periods(store, dt.date(2026, 11, 23))
    assert [(p.opens, p.kind) for p in monday] == [(dt.time(8, 30), "regular"), (dt.time(18), "evening")]
    saturday = opening_periods(store, dt.date(2026, 11, 21))
    assert [p.kind for p in saturday] == ["weekend"]
    assert opening_periods(store, dt.date(2026, 10, 2)) == []
    assert [p.kind for p in opening_periods(store, dt.date(2026, 10, 10))] == ["regular", "evening"]
