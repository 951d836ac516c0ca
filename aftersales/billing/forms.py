"""Forms check the shape of input; the billing services check its meaning (errors land inline on the field)."""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from aftersales.common.forms import DomainForm

from .choices import LOYALTY_METHODS, PaymentMethod


def _key() -> str:
    return uuid.uuid4().hex


class PaymentForm(DomainForm):
    method = forms.ChoiceField(
        label=_("Method"), choices=[c for c in PaymentMethod.choices if c[0] not in LOYALTY_METHODS]  # those: loyalty form
    )
    amount = forms.CharField(label=_("Amount"), max_length=20, widget=forms.TextInput(attrs={"inputmode": "decimal"}))
    reference = forms.CharField(label=_("Reference"), max_length=64, required=False)
    # generated when the form is shown: a double submit or a retried request records the payment once
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {}).setdefault("idempotency_key", _key())
        super().__init__(*args, **kwargs)


class LoyaltyPaymentForm(DomainForm):
    """Points or a voucher of the customer's against the balance (one of the two per submit)."""

    points = forms.IntegerField(label=_("Points"), required=False, min_value=1)
    code = forms.CharField(label=_("Voucher code"), max_length=20, required=False)
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=56)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {}).setdefault("idempotency_key", _key()[:56])
        super().__init__(*args, **kwargs)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if bool(data.get("points")) == bool((data.get("code") or "").strip()):
            raise forms.ValidationError(_("Enter either the points to use or a voucher code."))
        return data


class RefundForm(DomainForm):
    payment = forms.IntegerField(widget=forms.HiddenInput)
    amount = forms.CharField(label=_("Amount"), max_length=20, widget=forms.TextInput(attrs={"inputmode": "decimal"}))
    reason = forms.CharField(label=_("Reason"), max_length=300)
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {}).setdefault("idempotency_key", _key())
        super().__init__(*args, **kwargs)


class CreditNoteForm(DomainForm):
    amount = forms.CharField(label=_("Amount"), max_length=20, widget=forms.TextInput(attrs={"inputmode": "decimal"}))
    reason = forms.CharField(label=_("Reason"), max_length=300)


class CreditForm(DomainForm):
    reason = forms.CharField(label=_("Reason"), max_length=300)


class DeliveryForm(DomainForm):
    jobs_explained = forms.BooleanField(label=_("each job explained"), required=False)
    parts_shown = forms.BooleanField(label=_("replaced parts shown"), required=False)
    old_parts_handed_over = forms.BooleanField(label=_("old parts handed over"), required=False)
    warranty_explained = forms.BooleanField(label=_("warranty scope and period explained"), required=False)
    car_state = forms.CharField(label=_("state of the car"), max_length=300, required=False)
    notes = forms.CharField(label=_("notes"), max_length=500, required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        for name in ("jobs_explained", "parts_shown", "warranty_explained"):
            if not data.get(name):
                self.add_error(name, _("Walk the customer through this before handing over the car."))
        return data
