"""Schema pieces shared by the API routers."""

from __future__ import annotations

from typing import Any

from ninja import Schema


class ErrorOut(Schema):
    code: str
    message: str
    field: str | None = None


def request_user(request: Any) -> Any:
    return request.auth if getattr(request, "auth", None) is not None else request.user


ERRORS: dict[int, type[Schema]] = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}
