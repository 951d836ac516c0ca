from __future__ import annotations

import datetime as dt
from typing import Any

from ninja import Router, Schema, Status
from ninja.pagination import paginate

from aftersales.common.api_schemas import ERRORS, request_user
from aftersales.common.pagination import PageNumberPagination
from aftersales.common.permissions import require

from .selectors import staff_get, staff_visible_to, token_get, tokens_visible_to
from .services import token_create, token_revoke

router = Router(tags=["staff"])


class StaffOut(Schema):
    id: int
    username: str
    display_name: str
    roles: list[str]
    store_ids: list[int]
    skills: list[str]

    @staticmethod
    def resolve_roles(obj: Any) -> list[str]:
        return sorted(g.name for g in obj.groups.all())

    @staticmethod
    def resolve_store_ids(obj: Any) -> list[int]:
        return sorted(m.store_id for m in obj.memberships.all())

    @staticmethod
    def resolve_display_name(obj: Any) -> str:
        return str(obj)


@router.get("/", response={200: list[StaffOut], **ERRORS})
@paginate(PageNumberPagination, page_size=50)
def list_staff(request: Any, role: str = "", store_id: int | None = None) -> Any:
    user = request_user(request)
    require(user, "staff.view_user")
    qs = staff_visible_to(user)
    if role:
        qs = qs.filter(groups__name=role)
    if store_id:
        qs = qs.filter(memberships__store_id=store_id)
    return qs.distinct().order_by("username")


class TokenOut(Schema):
    id: int
    name: str
    prefix: str
    user_id: int
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None


class TokenIn(Schema):
    name: str
    user_id: int | None = None


class TokenCreatedOut(TokenOut):
    key: str


@router.get("/tokens", response={200: list[TokenOut], **ERRORS})
def list_tokens(request: Any) -> Any:
    return list(tokens_visible_to(request_user(request)))


@router.post("/tokens", response={201: TokenCreatedOut, **ERRORS})
def create_token(request: Any, payload: TokenIn) -> Any:
    user = request_user(request)
    owner = staff_get(user, payload.user_id) if payload.user_id else user
    token, key = token_create(actor=user, user=owner, name=payload.name)
    data = TokenOut.from_orm(token).dict()
    return Status(201, {**data, "key": key})


@router.delete("/tokens/{token_id}", response={200: TokenOut, **ERRORS})
def revoke_token(request: Any, token_id: int) -> Any:
    user = request_user(request)
    return token_revoke(actor=user, token=token_get(user, token_id))


@router.get("/{staff_id}", response={200: StaffOut, **ERRORS})
def get_staff(request: Any, staff_id: int) -> Any:
    user = request_user(request)
    require(user, "staff.view_user")
    return staff_get(user, staff_id)
