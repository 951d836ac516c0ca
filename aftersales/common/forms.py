"""Form helpers every app's forms use (moved down from web/forms.py: a lower app may not import web)."""

from __future__ import annotations

from django import forms

from .errors import DomainError


class DomainForm(forms.Form):
    """Forms validate the shape of input; the services validate meaning. A domain error lands inline on its field."""

    def add_domain_error(self, exc: DomainError) -> None:
        field = exc.field if exc.field in self.fields else None
        self.add_error(field, str(exc.message))
