"""Domain errors that users can act on: a code, a translated message and the field it concerns."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A refusal the user can act on. ``status`` is the HTTP status the API answers with."""

    status = 400

    def __init__(self, code: str, message: Any, field: str | None = None, **extra: Any) -> None:
        super().__init__(str(message))
        self.code = code
        self.message = message
        self.field = field
        self.extra = extra

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"code": self.code, "message": str(self.message), "field": self.field}
        data.update(self.extra)
        return data


class ValidationFailed(DomainError):
    status = 422


class Conflict(DomainError):
    status = 409


class NotFound(DomainError):
    status = 404


class Forbidden(DomainError):
    status = 403


class IllegalTransition(DomainError):
    status = 409


def number_too_large(field: str | None) -> ValidationFailed:
    """A number too large to store (an id, a page, an amount): the API's net under every number (issue 13, item 6)."""
    from django.utils.translation import gettext as _

    if field:
        return ValidationFailed("number_out_of_range", _("The number in “%(field)s” is too large.") % {"field": field}, field)
    return ValidationFailed("number_out_of_range", _("A number in the request is too large."), None)
