"""Forms validate the shape of input; the services validate meaning. Domain errors land inline on the field."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from aftersales.common.forms import DomainForm
from aftersales.customers.choices import (
    Channel,
    ConsentPurpose,
    ConsentSource,
    ProgressFrequency,
    ReminderFrequency,
    Title,
)
from aftersales.vehicles.choices import FuelType


def _date(label: Any, required: bool = False) -> forms.DateField:
    return forms.DateField(label=label, required=required, widget=forms.DateInput(attrs={"type": "date"}))


class CustomerForm(DomainForm):
    name = forms.CharField(label=_("Name"), max_length=60)
    title = forms.ChoiceField(label=_("Title"), choices=Title.choices, required=False)
    mobile = forms.CharField(label=_("Mobile"), max_length=30, widget=forms.TextInput(attrs={"inputmode": "tel"}))
    email = forms.CharField(label=_("E-mail"), max_length=254, required=False)
    address = forms.CharField(label=_("Address"), max_length=300, required=False)
    birthday = _date(_("Birthday"))
    preferred_channel = forms.ChoiceField(label=_("Preferred channel"), choices=Channel.choices, initial=Channel.SMS)
    reminder_frequency = forms.ChoiceField(label=_("Care reminders"), choices=ReminderFrequency.choices,
                                           initial=ReminderFrequency.ALL, required=False)
    progress_frequency = forms.ChoiceField(label=_("Progress messages during a visit"), choices=ProgressFrequency.choices,
                                           initial=ProgressFrequency.EVERY_STEP, required=False)
    preferred_advisor = forms.ChoiceField(label=_("Preferred advisor"), required=False)
    preferences = forms.CharField(label=_("Preferences"), max_length=300, required=False)
    notes = forms.CharField(label=_("Notes"), widget=forms.Textarea(attrs={"rows": 3}), required=False)

    def __init__(self, *args: Any, advisors: list[Any] = (), **kwargs: Any) -> None:  # type: ignore[assignment]
        super().__init__(*args, **kwargs)
        self.fields["preferred_advisor"].choices = [("", "—")] + [(str(a.pk), str(a)) for a in advisors]

    def service_data(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["preferred_advisor"] = int(data["preferred_advisor"]) if data.get("preferred_advisor") else None
        for key in ("reminder_frequency", "progress_frequency"):
            if not data.get(key):
                data.pop(key, None)  # not sent (an older form, an API-like post): the customer's choice stays
        return data


class NewCustomerForm(CustomerForm):
    service_consent = forms.BooleanField(label=_("Agrees to service messages (own car's status)"), required=False, initial=True)
    marketing_consent = forms.BooleanField(label=_("Agrees to marketing messages"), required=False)


class VehicleForm(DomainForm):
    vin = forms.CharField(label=_("VIN"), max_length=30)
    plate = forms.CharField(label=_("Plate"), max_length=12, required=False)
    make = forms.CharField(label=_("Make"), max_length=40)
    model = forms.CharField(label=_("Model"), max_length=60)
    year = forms.CharField(label=_("Model year"), max_length=4, required=False)
    colour = forms.CharField(label=_("Colour"), max_length=30, required=False)
    fuel_type = forms.ChoiceField(label=_("Fuel type"), choices=FuelType.choices)
    purchase_date = _date(_("Purchase date"))
    purchase_price = forms.CharField(label=_("Purchase price (CNY)"), max_length=20, required=False)
    insurance_company = forms.CharField(label=_("Insurance company"), max_length=60, required=False)
    insurance_expiry = _date(_("Insurance expiry"))
    warranty_start = _date(_("Warranty start"))
    warranty_end = _date(_("Warranty end"))
    confirm_plate = forms.BooleanField(label=_("Yes, this car carries the plate now"), required=False,
                                       widget=forms.HiddenInput)

    def ask_plate_confirmation(self) -> None:
        """The plate is on another vehicle: show the confirmation box (hidden until then)."""
        self.fields["confirm_plate"].widget = forms.CheckboxInput()


class NewVehicleForm(VehicleForm):
    mileage = forms.CharField(label=_("Current mileage (km)"), max_length=10, required=False)


class MileageForm(DomainForm):
    km = forms.CharField(label=_("Mileage (km)"), max_length=10, widget=forms.TextInput(attrs={"inputmode": "numeric"}))
    is_correction = forms.BooleanField(label=_("Odometer correction"), required=False)
    note = forms.CharField(label=_("Note"), max_length=200, required=False)


class TransferForm(DomainForm):
    new_owner_mobile = forms.CharField(label=_("New owner's mobile"), max_length=30)
    on_date = _date(_("Transfer date"), required=False)
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)


class ConsentForm(DomainForm):
    purpose = forms.ChoiceField(label=_("Purpose"), choices=ConsentPurpose.choices)
    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices)
    granted = forms.TypedChoiceField(
        label=_("Decision"), choices=[("1", _("Agrees")), ("0", _("Withdraws / refuses"))], coerce=lambda v: v == "1"
    )
    source = forms.ChoiceField(label=_("Source"), choices=ConsentSource.choices)
    note = forms.CharField(label=_("Note"), max_length=200, required=False)


class TokenForm(DomainForm):
    name = forms.CharField(label=_("Token name"), max_length=100)
    user = forms.ChoiceField(label=_("For staff member"))

    def __init__(self, *args: Any, users: list[Any] = (), **kwargs: Any) -> None:  # type: ignore[assignment]
        super().__init__(*args, **kwargs)
        self.fields["user"].choices = [(str(u.pk), f"{u} ({u.username})") for u in users]
