from django.contrib import admin

from .models import Assessment, AssessmentSettings, DamageRule

admin.site.register(Assessment)
admin.site.register(AssessmentSettings)
admin.site.register(DamageRule)
