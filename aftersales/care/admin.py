"""Maintenance plans and care settings are set up here by managers; reminders and enrolments are read-only."""

from django.contrib import admin

from .models import CareSettings, Enrolment, MaintenancePlan, Playbook, PlaybookStep, Reminder


@admin.register(MaintenancePlan)
class MaintenancePlanAdmin(admin.ModelAdmin):
    list_display = ("__str__", "store", "first_service_months", "first_service_km", "interval_months", "interval_km")
    list_filter = ("store",)
    search_fields = ("make", "model")


@admin.register(CareSettings)
class CareSettingsAdmin(admin.ModelAdmin):
    list_display = ("store", "default_daily_km", "first_service_lead_days", "insurance_lead_days", "declined_delay_days")


class StepInline(admin.TabularInline):
    model = PlaybookStep
    extra = 0


@admin.register(Playbook)
class PlaybookAdmin(admin.ModelAdmin):
    list_display = ("name", "store", "trigger", "is_campaign", "is_active", "holdout_percent")
    list_filter = ("store", "is_campaign", "is_active", "trigger")
    inlines = [StepInline]


@admin.register(Reminder)
class ReminderAdmin(admin.ModelAdmin):
    list_display = ("kind", "due_date", "remind_on", "store", "customer", "vehicle", "status")
    list_filter = ("kind", "status", "store")
    raw_id_fields = ("customer", "vehicle", "message")

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(Enrolment)
class EnrolmentAdmin(admin.ModelAdmin):
    list_display = ("playbook", "customer", "status", "step_index", "next_run_at", "is_holdout")
    list_filter = ("status", "is_holdout")
    raw_id_fields = ("customer", "vehicle")

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False
