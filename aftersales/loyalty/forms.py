"""Forms check the shape of input; the loyalty services check its meaning (errors land inline on the field)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from aftersales.common.errors import DomainError

from .choices import BEHAVIOURS, EntryKind, EntrySource


class DomainForm(forms.Form):
    #: service field name → form field name, where they differ
    field_map: dict[str, str] = {}
    #: a fresh key per rendered form: a double-click or a resent form writes once
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=64, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        import uuid

        kwargs.setdefault("initial", {}).setdefault("idempotency_key", uuid.uuid4().hex)
        super().__init__(*args, **kwargs)

    def key(self) -> str:
        import uuid

        return self.cleaned_data.get("idempotency_key") or uuid.uuid4().hex

    def add_domain_error(self, exc: DomainError) -> None:
        name = self.field_map.get(exc.field or "", exc.field)
        self.add_error(name if name in self.fields else None, str(exc.message))


class CustomerField(forms.CharField):
    """A customer by mobile number (any format) or by customer number."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("label", _("Customer (mobile or customer no.)"))
        kwargs.setdefault("max_length", 30)
        super().__init__(**kwargs)


class IssueVoucherForm(DomainForm):
    field_map = {"customer": "customer", "template": "template"}

    template = forms.ChoiceField(label=_("Voucher"))
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)

    def __init__(self, *args: Any, templates: list[Any], with_customer: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["template"].choices = [(str(t.pk), f"{t.name} ({t.get_kind_display()})") for t in templates]
        if with_customer:
            self.fields = {"customer": CustomerField(), **self.fields}


class AdjustForm(DomainForm):
    points = forms.IntegerField(label=_("Points (+ or −)"), min_value=-10_000_000, max_value=10_000_000)
    reason = forms.CharField(label=_("Reason"), max_length=200)

    def __init__(self, *args: Any, with_customer: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if with_customer:
            self.fields = {"customer": CustomerField(), **self.fields}


class GiftForm(DomainForm):
    field_map = {"points": "customer"}

    customer = CustomerField()
    gift = forms.ChoiceField(label=_("Gift"))

    def __init__(self, *args: Any, gifts: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["gift"].choices = [(str(g.pk), f"{g.name} · {g.points_cost} · {g.stock}") for g in gifts]


class ReferralForm(DomainForm):
    field_map = {"referrer": "referrer", "referred": "referred"}

    referrer = CustomerField(label=_("Referred by (mobile or customer no.)"))
    referred = CustomerField(label=_("New customer (mobile or customer no.)"))


class BehaviourForm(DomainForm):
    behaviour = forms.ChoiceField(label=_("For"), choices=[(b.value, b.label) for b in BEHAVIOURS])
    source_key = forms.CharField(label=_("Reference (e.g. appointment or review no.)"), max_length=80)


class SettingsForm(DomainForm):
    """A store's rules; the service checks each value and names the field it refuses."""

    points_per_cny = forms.CharField(label=_("points per CNY paid"), max_length=12)
    checkin_points = forms.CharField(label=_("points for a check-in"), max_length=12)
    review_points = forms.CharField(label=_("points for a review"), max_length=12)
    referral_points = forms.CharField(label=_("points for a referral"), max_length=12)
    sharing_points = forms.CharField(label=_("points for sharing"), max_length=12)
    expiry_months = forms.CharField(label=_("points expire after (months)"), max_length=12,
                                    help_text=_("Points expire at the end of this month after the month they were earned; 0 = never."))
    points_per_cny_redeemed = forms.CharField(label=_("points for 1 CNY off an invoice"), max_length=12)
    max_redeem_share = forms.CharField(label=_("largest share of an invoice payable with points"), max_length=12)


class LedgerFilterForm(forms.Form):
    q = forms.CharField(label=_("Customer, mobile, invoice or note"), required=False, max_length=60)
    kind = forms.ChoiceField(label=_("Kind"), required=False, choices=[("", _("All")), *EntryKind.choices])
    date_from = forms.DateField(label=pgettext_lazy("date range", "From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))


__all__ = ["AdjustForm", "BehaviourForm", "EntrySource", "GiftForm", "IssueVoucherForm", "LedgerFilterForm", "ReferralForm",
           "SettingsForm"]
