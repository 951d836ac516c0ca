"""Forms check the shape of input; the appointment services check its meaning (errors land inline)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from aftersales.common.forms import DomainForm

#: service error fields → the form field they belong on
FIELD_ALIASES = {"customer": "mobile", "vehicle": "plate", "owner": "mobile"}


class AppointmentDomainForm(DomainForm):
    field_aliases = FIELD_ALIASES


def _text(label: Any, max_length: int, required: bool = False, **attrs: Any) -> forms.CharField:
    return forms.CharField(label=label, max_length=max_length, required=required, widget=forms.TextInput(attrs=attrs))


class SlotPickForm(forms.Form):
    """Date + service type (+ advisor): the free start times are shown for these."""

    date = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}))
    service_type = forms.ChoiceField(label=_("Service type"))
    advisor = forms.ChoiceField(label=_("Advisor"), required=False)

    def __init__(self, *args: Any, service_types: Any = (), advisors: Any = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["service_type"].choices = [(str(s.pk), f"{s} ({s.duration_minutes}′)") for s in service_types]
        self.fields["advisor"].choices = [("", _("Any advisor"))] + [(str(a.pk), str(a)) for a in advisors]


class BookingForm(AppointmentDomainForm):
    start = forms.CharField(widget=forms.HiddenInput)
    service_type = forms.CharField(widget=forms.HiddenInput)
    advisor = forms.CharField(widget=forms.HiddenInput, required=False)
    mobile = _text(_("Mobile"), 30, True, inputmode="tel")
    name = _text(_("Name"), 60)
    vehicle = forms.ChoiceField(label=_("Customer's vehicle"), required=False)
    plate = _text(_("Plate"), 12, autocapitalize="characters")
    vin = _text(_("VIN"), 30, autocapitalize="characters")
    make = _text(_("Make"), 40)
    model = _text(_("Model"), 60)
    canned_job = forms.ChoiceField(label=_("Standard job"), required=False)
    fault_description = forms.CharField(label=_("Fault description"), widget=forms.Textarea(attrs={"rows": 3}), required=False)

    def __init__(self, *args: Any, vehicles: Any = (), jobs: Any = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["vehicle"].choices = [("", _("New vehicle (enter below)"))] + [
            (str(v.pk), " ".join(filter(None, (v.plate, v.make, v.model, v.vin[-6:] if v.vin else "")))) for v in vehicles
        ]
        self.fields["canned_job"].choices = [("", "—")] + [(str(j.pk), str(j)) for j in jobs]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not data.get("vehicle") and not (data.get("plate") or data.get("vin")):
            self.add_error("plate", _("Enter the plate or the VIN, or pick one of the customer's vehicles."))
        return data

    def service_kwargs(self) -> dict[str, Any]:
        d = self.cleaned_data
        vehicle_data = {k: d[k] for k in ("plate", "vin", "make", "model") if d.get(k)}
        return {
            "service_type": d["service_type"], "start": d["start"], "advisor": d.get("advisor") or None,
            "customer_data": {"mobile": d["mobile"], "name": d.get("name", "")},
            "vehicle": d.get("vehicle") or None, "vehicle_data": None if d.get("vehicle") else vehicle_data,
            "canned_job": d.get("canned_job") or None, "fault_description": d.get("fault_description", ""),
        }


class WalkInForm(AppointmentDomainForm):
    started = forms.CharField(widget=forms.HiddenInput)
    mobile = _text(_("Mobile"), 30, True, inputmode="tel")
    name = _text(_("Name"), 60)
    plate = _text(_("Plate"), 12, True, autocapitalize="characters")
    vin = _text(_("VIN"), 30, autocapitalize="characters")
    make = _text(_("Make"), 40)
    model = _text(_("Model"), 60)
    service_type = forms.ChoiceField(label=_("Service type"))
    fault_description = forms.CharField(label=_("Fault description"), widget=forms.Textarea(attrs={"rows": 2}), required=False)

    def __init__(self, *args: Any, service_types: Any = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["service_type"].choices = [(str(s.pk), f"{s} ({s.duration_minutes}′)") for s in service_types]


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=300, required=False)
