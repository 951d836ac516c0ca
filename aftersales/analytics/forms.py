from __future__ import annotations

from django import forms

from .models import KpiSettings
from .services import TARGET_FIELDS


class TargetsForm(forms.ModelForm):
    class Meta:
        model = KpiSettings
        fields = list(TARGET_FIELDS)
