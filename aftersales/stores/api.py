from __future__ import annotations

import datetime as dt
from typing import Any

from ninja import Router, Schema
from ninja.pagination import paginate

from aftersales.common.api_schemas import ERRORS, request_user
from aftersales.common.pagination import PageNumberPagination
from aftersales.common.permissions import require

from .selectors import store_get, stores_visible_to

router = Router(tags=["stores"])


class OpeningPeriodOut(Schema):
    weekday: int
    opens: dt.time
    closes: dt.time
    kind: str


class HolidayOut(Schema):
    date: dt.date
    name: str
    kind: str


class StoreOut(Schema):
    id: int
    code: str
    name: str
    address: str
    phone: str
    time_zone: str
    directions: str
    opening_periods: list[OpeningPeriodOut]
    holidays: list[HolidayOut]


@router.get("/", response={200: list[StoreOut], **ERRORS})
@paginate(PageNumberPagination, page_size=50)
def list_stores(request: Any) -> Any:
    user = request_user(request)
    require(user, "stores.view_store")
    return stores_visible_to(user).order_by("code")


@router.get("/{store_id}", response={200: StoreOut, **ERRORS})
def get_store(request: Any, store_id: int) -> Any:
    user = request_user(request)
    require(user, "stores.view_store")
    return store_get(user, store_id)
