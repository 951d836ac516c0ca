"""Forms check the shape of input; the services check its meaning (domain errors land on the field)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from aftersales.common.errors import DomainError

from .choices import Tier, ValueClass
from .importers import MAX_UPLOAD_BYTES


class DomainForm(forms.Form):
    def add_domain_error(self, exc: DomainError) -> None:
        field = exc.field if exc.field in self.fields else None
        self.add_error(field, str(exc.message))


def _store_choices(stores: list[Any]) -> list[tuple[str, str]]:
    return [(str(s.pk), str(s)) for s in stores]


class ImportForm(DomainForm):
    store = forms.ChoiceField(label=_("Store (when the file has no store column)"))
    file = forms.FileField(label=_("CSV or Excel file"),
                           help_text=_("At most %(mb)s MB.") % {"mb": MAX_UPLOAD_BYTES // (1024 * 1024)})

    def __init__(self, *args: Any, stores: list[Any] = (), **kwargs: Any) -> None:  # type: ignore[assignment]
        super().__init__(*args, **kwargs)
        self.fields["store"].choices = _store_choices(stores)


class SegmentForm(DomainForm):
    name = forms.CharField(label=pgettext_lazy("name of a thing", "Name"), max_length=80)
    store = forms.ChoiceField(label=_("Customers known at"), required=False)
    tiers = forms.MultipleChoiceField(label=_("Tiers"), choices=Tier.choices, required=False,
                                      widget=forms.CheckboxSelectMultiple)
    value_classes = forms.MultipleChoiceField(label=_("Customer class"), choices=ValueClass.choices, required=False,
                                              widget=forms.CheckboxSelectMultiple)
    tags = forms.MultipleChoiceField(label=_("Tags (all of)"), required=False, widget=forms.CheckboxSelectMultiple)
    make = forms.CharField(label=_("Make"), max_length=40, required=False)
    model = forms.CharField(label=_("Model"), max_length=60, required=False)
    last_visit_from = forms.DateField(label=_("Last paid visit from"), required=False,
                                      widget=forms.DateInput(attrs={"type": "date"}))
    last_visit_to = forms.DateField(label=_("Last paid visit until"), required=False,
                                    widget=forms.DateInput(attrs={"type": "date"}))
    mileage_min = forms.IntegerField(label=_("Mileage at least (km)"), required=False, min_value=0)
    mileage_max = forms.IntegerField(label=_("Mileage at most (km)"), required=False, min_value=0)
    spend_min = forms.DecimalField(label=_("Spend in 12 months at least (CNY)"), required=False, decimal_places=2)
    spend_max = forms.DecimalField(label=_("Spend in 12 months at most (CNY)"), required=False, decimal_places=2)
    marketing_consent = forms.BooleanField(label=_("Only customers who accept marketing messages"), required=False)

    def __init__(self, *args: Any, stores: list[Any] = (), tags: list[tuple[str, str]] = (), **kwargs: Any) -> None:  # type: ignore[assignment]
        super().__init__(*args, **kwargs)
        self.fields["store"].choices = [("", _("All my stores")), *_store_choices(stores)]
        self.fields["tags"].choices = list(tags)

    CRITERIA = ("store", "tiers", "value_classes", "tags", "make", "model", "last_visit_from", "last_visit_to",
                "mileage_min", "mileage_max", "spend_min", "spend_max", "marketing_consent")

    def criteria(self) -> dict[str, Any]:
        data = self.cleaned_data
        out: dict[str, Any] = {}
        for key in self.CRITERIA:
            value = data.get(key)
            if value in (None, "", [], False):
                continue
            out[key] = value.isoformat() if hasattr(value, "isoformat") else str(value) if not isinstance(value, list | bool | int) else value
        return out

    @classmethod
    def initial_from(cls, segment: Any) -> dict[str, Any]:
        initial = {"name": segment.name, **(segment.criteria or {})}
        if segment.store_id and "store" not in initial:
            initial["store"] = segment.store_id
        return initial


class TierSettingsForm(DomainForm):
    a_recency_months = forms.IntegerField(label=_("A: last visit within (months)"), min_value=1, max_value=120)
    a_min_visits = forms.IntegerField(label=_("A: paid visits in 12 months at least"), min_value=0, max_value=1000)
    a_min_amount = forms.DecimalField(label=_("A: amount paid in 12 months at least (CNY)"), min_value=0, decimal_places=2)
    c_new_months = forms.IntegerField(label=_("C: first visit within (months)"), min_value=1, max_value=120)
    d_lapsed_months = forms.IntegerField(label=_("D: no visit for (months)"), min_value=1, max_value=120)
    vip_percent = forms.IntegerField(label=_("VIP: top share by value (%)"), min_value=0, max_value=100)
    key_percent = forms.IntegerField(label=_("Key: next share by value (%)"), min_value=0, max_value=100)
    insurance_days = forms.IntegerField(label=_("Insurance expiring within (days)"), min_value=0, max_value=1000)


class AdvisorForm(DomainForm):
    advisor = forms.ChoiceField(label=_("Dedicated advisor"))

    def __init__(self, *args: Any, advisors: list[Any] = (), **kwargs: Any) -> None:  # type: ignore[assignment]
        super().__init__(*args, **kwargs)
        self.fields["advisor"].choices = [(str(a.pk), a.display_name or a.username) for a in advisors]
