"""Form helpers every app's forms use (moved down from web/forms.py: a lower app may not import web)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms

from .errors import DomainError


class DomainForm(forms.Form):
    """Forms validate the shape of input; the services validate meaning. A domain error lands inline on its field."""

    #: a service's field name → the form field it belongs on (when they differ)
    field_aliases: dict[str, str] = {}

    def domain_field(self, field: str | None) -> str | None:
        field = self.field_aliases.get(field or "", field)
        return field if field in self.fields else None

    def add_domain_error(self, exc: DomainError) -> None:
        """Every problem of the refusal on its own field (``extra["errors"]`` when the service named several), each
        message once; those for no field of this form above it."""
        items = exc.extra.get("errors") or [{"field": exc.field, "message": str(exc.message)}]
        for item in items:
            field = self.domain_field(item.get("field"))
            message = str(item.get("message", ""))
            if field is not None and field in self.errors and message in self.errors[field]:
                continue
            self.add_error(field, message)

    def check_rest(self, check: Callable[[dict[str, Any]], Any]) -> None:
        """The form's own checks failed (a required field empty, a date that is no date): run the service's checks
        (``check``, which validates and writes nothing) on the fields that passed, so their problems show now too
        instead of after the next submit. Only fields without an error of their own get one."""
        if not self.is_bound or self.is_valid():
            return
        data = {name: self.cleaned_data.get(name, self.data.get(self.add_prefix(name)))
                for name in self.fields if name not in self.errors}
        try:
            check(data)
        except DomainError as exc:
            for item in exc.extra.get("errors") or [{"field": exc.field, "message": str(exc.message)}]:
                field = self.domain_field(item.get("field"))
                if field is not None and field not in self.errors:
                    self.add_error(field, str(item.get("message", "")))
