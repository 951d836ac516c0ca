"""The API's page-number pagination with bounded numbers (issue 13, item 6).

ninja's own accepts any ``page``: ``?page=400000000000000000`` became an OFFSET beyond bigint and a 500. Here the
page is 1…MAX_PAGE and the page size 1…MAX_PAGE_SIZE, so a wild number is a 422 naming the field.
"""

from __future__ import annotations

from ninja import Field, Schema
from ninja.pagination import PageNumberPagination as NinjaPageNumberPagination

MAX_PAGE = 1_000_000
MAX_PAGE_SIZE = 10_000


class PageNumberPagination(NinjaPageNumberPagination):
    class Input(Schema):
        page: int = Field(1, ge=1, le=MAX_PAGE)
        page_size: int | None = Field(None, ge=1, le=MAX_PAGE_SIZE)
