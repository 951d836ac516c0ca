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

    def messages(self) -> list[str]:
        """Every message of the refusal (all of ``extra["errors"]`` when several fields were bad), for a page that
        shows them as a list rather than beside fields."""
        items = self.extra.get("errors") or []
        said = [str(item.get("message", "")) for item in items if isinstance(item, dict) and item.get("message")]
        return said or [str(self.message)]

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


class Problems:
    """Collects every bad field of one request, then refuses once naming them all (issue 14, item 6: a bad VIN must not
    hide the bad plate and the negative mileage). The first problem is the error's ``code``/``field``; every problem is
    in ``extra["errors"]`` as ``{code, field, message}``, which the API returns and ``DomainForm`` puts on each field.

    ``with problems.field(): ...`` runs a check and keeps its ``ValidationFailed`` instead of stopping; ``check(fn, …)``
    does the same for one call and returns ``None`` on a problem."""

    def __init__(self) -> None:
        self.items: list[DomainError] = []

    def __bool__(self) -> bool:
        return bool(self.items)

    def add(self, code: str, message: Any, field: str | None) -> None:
        self.items.append(ValidationFailed(code, message, field))

    def keep(self, exc: DomainError) -> None:
        for item in exc.extra.get("errors") or []:
            self.items.append(ValidationFailed(item.get("code", exc.code), item.get("message", ""), item.get("field")))
        if not exc.extra.get("errors"):
            self.items.append(exc)

    def check(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ValidationFailed as exc:
            self.keep(exc)
            return None

    def field(self) -> _Catch:
        return _Catch(self)

    def has(self, field: str) -> bool:
        return any(p.field == field for p in self.items)

    def raise_if_any(self) -> None:
        if self.items:
            first = self.items[0]
            raise ValidationFailed(
                first.code, first.message, first.field,
                errors=[{"code": p.code, "field": p.field, "message": str(p.message)} for p in self.items],
            )


class _Catch:
    def __init__(self, problems: Problems) -> None:
        self.problems = problems

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, exc: Any, tb: Any) -> bool:
        if isinstance(exc, ValidationFailed):
            self.problems.keep(exc)
            return True
        return False
