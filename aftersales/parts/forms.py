"""Forms check the shape of input; the catalogue and ledger services check its meaning (errors land inline)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from aftersales.common.forms import DomainForm as CommonDomainForm

from .choices import Category, Tracking, Unit


class DomainForm(CommonDomainForm):
    def domain_field(self, field: str | None) -> str | None:
        if field and field.startswith("price:") and f"price_{field[6:]}" in self.fields:
            return f"price_{field[6:]}"
        return super().domain_field(field)


def _date(label: Any) -> forms.DateField:
    return forms.DateField(label=label, required=False, widget=forms.DateInput(attrs={"type": "date"}))


def _text(label: Any, max_length: int, required: bool = True, **attrs: Any) -> forms.CharField:
    return forms.CharField(label=label, max_length=max_length, required=required, widget=forms.TextInput(attrs=attrs))


def parse_alias_lines(text: str) -> list[dict[str, Any]]:
    """One interchangeable number per line: ``number, brand`` with ``, OEM`` at the end for the maker's own."""
    out = []
    for line in (text or "").splitlines():
        parts = [p.strip() for p in line.split(",")]
        if not parts or not parts[0]:
            continue
        is_oem = len(parts) > 1 and parts[-1].upper() in ("OEM", "原厂")
        if is_oem:
            parts = parts[:-1]
        if len(parts) > 2:
            raise ValidationError(_("Write one number per line as: number, brand (add “, OEM” for the maker's own number)."))
        out.append({"number": parts[0], "brand": parts[1] if len(parts) > 1 else "", "is_oem": is_oem})
    return out


def alias_lines(part: Any) -> str:
    return "\n".join(
        ", ".join(filter(None, (a.number, a.brand, "OEM" if a.is_oem else ""))) for a in part.aliases.all()
    )


class PartForm(DomainForm):
    number = _text(_("Part number"), 40, autocapitalize="characters")
    oem_number = _text(_("OEM number"), 40, required=False, autocapitalize="characters")
    name_zh = _text(_("Name (Chinese)"), 120)
    name_en = _text(_("Name (English)"), 120, required=False)
    category = forms.ChoiceField(label=_("Category"), choices=Category.choices, initial=Category.OTHER)
    unit = forms.ChoiceField(label=_("Unit"), choices=Unit.choices, initial=Unit.PIECE)
    tracking = forms.ChoiceField(label=_("Tracking"), choices=Tracking.choices, initial=Tracking.NONE)
    cost_price = _text(_("Standard cost (CNY)"), 20, required=False, inputmode="decimal")
    sale_price = _text(_("Sale price (CNY)"), 20, required=False, inputmode="decimal")
    tax_rate = _text(_("VAT rate"), 8, required=False, inputmode="decimal")
    warranty_months = _text(_("Warranty (months)"), 6, required=False, inputmode="numeric")
    warranty_km = _text(_("Warranty (km)"), 9, required=False, inputmode="numeric")
    is_oem = forms.BooleanField(label=_("OEM part"), required=False, initial=True)
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)
    aliases = forms.CharField(
        label=_("Interchangeable numbers"), required=False, widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("One per line: number, brand (add “, OEM” for the maker's own number)."),
    )

    def __init__(self, *args: Any, price_lists: list[Any] = (), **kwargs: Any) -> None:  # type: ignore[assignment]
        super().__init__(*args, **kwargs)
        self.price_list_codes = [pl.code for pl in price_lists]
        for pl in price_lists:
            self.fields[f"price_{pl.code}"] = forms.CharField(
                label=_("Price: %(name)s") % {"name": pl.name}, max_length=20, required=False,
                widget=forms.TextInput(attrs={"inputmode": "decimal"}),
            )

    def clean_aliases(self) -> list[dict[str, Any]]:
        return parse_alias_lines(self.cleaned_data.get("aliases", ""))

    def service_data(self) -> dict[str, Any]:
        data = {k: v for k, v in self.cleaned_data.items() if not k.startswith("price_")}
        if not data.get("tax_rate"):
            data["tax_rate"] = "0.13"
        data["prices"] = {code: self.cleaned_data.get(f"price_{code}") or None for code in self.price_list_codes}
        return data


class _StockForm(DomainForm):
    store = forms.ChoiceField(label=_("Store"))

    def __init__(self, *args: Any, stores: list[Any] = (), **kwargs: Any) -> None:  # type: ignore[assignment]
        super().__init__(*args, **kwargs)
        self.stores = {str(s.pk): s for s in stores}
        self.fields["store"].choices = [(str(s.pk), s.name) for s in stores]
        if len(stores) == 1:
            self.fields["store"].widget = forms.HiddenInput()

    def clean_store(self) -> Any:
        return self.stores[self.cleaned_data["store"]]


class ReceiveForm(_StockForm):
    quantity = _text(_("Quantity"), 20, inputmode="decimal")
    unit_cost = _text(_("Unit cost (CNY)"), 20, inputmode="decimal")
    reason = _text(_("Note (supplier, delivery note...)"), 300, required=False)
    batch_number = _text(_("Batch / serial number"), 60, required=False)
    origin = _text(_("Origin"), 60, required=False)
    production_date = _date(_("Production date"))
    warranty_until = _date(_("Warranty until"))


class IssueForm(_StockForm):
    job = forms.ChoiceField(label=_("Job (open repair order)"))
    quantity = _text(_("Quantity"), 20, inputmode="decimal")
    batch = forms.ChoiceField(label=_("Batch / serial number"), required=False)

    def __init__(self, *args: Any, jobs: list[Any] = (), batches: list[Any] = (), **kwargs: Any) -> None:  # type: ignore[assignment]
        super().__init__(*args, **kwargs)
        self.jobs = {str(j.pk): j for j in jobs}
        self.fields["job"].choices = [("", "—")] + [
            (str(j.pk), f"{j.order.number} · {j.order.vehicle.plate or j.order.vehicle.vin} · {j.title}") for j in jobs
        ]
        self.batches = {str(b.pk): b for b in batches}
        if batches:
            self.fields["batch"].choices = [("", "—")] + [(str(b.pk), b.number) for b in batches]
        else:
            del self.fields["batch"]

    def clean_job(self) -> Any:
        return self.jobs[self.cleaned_data["job"]]

    def clean_batch(self) -> Any:
        return self.batches.get(self.cleaned_data.get("batch") or "")


class ReturnForm(IssueForm):
    reason = _text(_("Reason"), 300, required=False)


class AdjustForm(_StockForm):
    quantity = _text(_("Change (+ found, − lost or damaged)"), 20, inputmode="decimal")
    reason = _text(_("Reason"), 300)


class ImportForm(forms.Form):
    file = forms.FileField(label=_("Excel file (.xlsx)"), widget=forms.ClearableFileInput(attrs={"accept": ".xlsx"}))
