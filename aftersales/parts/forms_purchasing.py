"""Forms of the purchasing, transfer and report screens: they check the shape of input; services check meaning."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from aftersales.common.forms import DomainForm
from aftersales.common.names import job_title

PO_FORM_LINES = 6


def _choices(objects: Any, blank: Any = None) -> list[tuple[str, str]]:
    rows = [(str(o.pk), str(o)) for o in objects]
    return [("", blank), *rows] if blank is not None else rows


class SupplierForm(DomainForm):
    name = forms.CharField(label=_("Supplier name"), max_length=120)
    contact = forms.CharField(label=_("Contact person"), max_length=60, required=False)
    phone = forms.CharField(label=_("Phone"), max_length=30, required=False)
    email = forms.CharField(label=_("E-mail"), max_length=254, required=False)
    lead_time_days = forms.IntegerField(label=_("Lead time (days)"), min_value=0, max_value=365, initial=3)
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)


class PurchaseOrderForm(DomainForm):
    """A supplier and up to a few lines (part number, quantity, unit cost: blank for the standard cost)."""

    supplier = forms.ChoiceField(label=_("Supplier"))
    expected_on = forms.DateField(label=_("Expected on"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: Any, suppliers: Any = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["supplier"]).choices = _choices(suppliers, _("Choose…"))
        for n in range(1, PO_FORM_LINES + 1):
            self.fields[f"lines[{n}].part"] = forms.CharField(label=_("Part number"), max_length=40, required=False)
            self.fields[f"lines[{n}].quantity"] = forms.CharField(label=_("Quantity"), max_length=20, required=False)
            self.fields[f"lines[{n}].unit_cost"] = forms.CharField(label=_("Unit cost"), max_length=20, required=False)

    def line_rows(self) -> list[list[Any]]:
        return [[self[f"lines[{n}].{k}"] for k in ("part", "quantity", "unit_cost")] for n in range(1, PO_FORM_LINES + 1)]

    def service_lines(self) -> list[dict[str, Any]]:
        lines = []
        for n in range(1, PO_FORM_LINES + 1):
            data = {k: self.cleaned_data.get(f"lines[{n}].{k}", "").strip() for k in ("part", "quantity", "unit_cost")}
            if any(data.values()):
                lines.append(data)
        return lines


class TransferRequestForm(DomainForm):
    from_store = forms.ChoiceField(label=_("From store"))
    part = forms.CharField(label=_("Part number"), max_length=40)
    quantity = forms.CharField(label=_("Quantity"), max_length=20, initial="1")
    for_job = forms.ChoiceField(label=_("For job (waiting for the part)"), required=False)
    note = forms.CharField(label=_("Note"), max_length=300, required=False)

    def __init__(self, *args: Any, stores: Any = (), jobs: Any = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["from_store"]).choices = _choices(stores, _("Choose…"))
        cast(forms.ChoiceField, self.fields["for_job"]).choices = [("", _("No job")), *[(str(j.pk), f"{j.order.number} · {job_title(j)}") for j in jobs]]


class RecallForm(DomainForm):
    part = forms.CharField(label=_("Part number"), max_length=40)
    batch_number = forms.CharField(label=_("Batch / serial number"), max_length=60)
