from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from aftersales.staff.models import Certificate


class CertificationForm(forms.Form):
    holder = forms.ChoiceField(label=_("Holder"))
    kind = forms.ChoiceField(label=_("Certificate for"), choices=Certificate.choices)
    issuer = forms.CharField(label=_("Issuer"), max_length=120, help_text=_("The carmaker or the training body."))
    level = forms.CharField(label=_("Level"), max_length=60, required=False)
    number = forms.CharField(label=_("Certificate number"), max_length=60)
    valid_from = forms.DateField(label=_("Valid from"), widget=forms.DateInput(attrs={"type": "date"}))
    valid_until = forms.DateField(label=_("Valid until"), widget=forms.DateInput(attrs={"type": "date"}))
    scan = forms.FileField(label=_("Scan of the certificate"), required=False,
                           help_text=_("A photo or scan (JPEG, PNG or WebP)."))

    def __init__(self, *args: Any, holders: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["holder"].choices = [("", "—"), *[(str(u.pk), str(u)) for u in holders]]
