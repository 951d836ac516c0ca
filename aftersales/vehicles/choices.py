from django.db import models
from django.utils.translation import gettext_lazy as _


class FuelType(models.TextChoices):
    PETROL = "petrol", _("Petrol")
    DIESEL = "diesel", _("Diesel")
    HYBRID = "hybrid", _("Hybrid")
    PHEV = "phev", _("Plug-in hybrid")
    EV = "ev", _("Electric (EV)")


class ReadingSource(models.TextChoices):
    VISIT = "visit", _("Service visit")
    MANUAL = "manual", _("Entered by staff")
    TELEMATICS = "telematics", _("Telematics")
    CUSTOMER = "customer", _("Reported by customer")
    IMPORT = "import", _("Imported")
