"""Service types, standard jobs, bays and technician shifts are set up here (store managers hold the permissions).

Appointments themselves are read-only in the admin: bookings go through the services (capacity, parts, messages).
"""

from django.contrib import admin

from .models import (
    Appointment,
    AppointmentEvent,
    AppointmentPartShortage,
    Bay,
    CannedJob,
    CannedJobPart,
    ServiceType,
    TechnicianShift,
)


@admin.register(ServiceType)
class ServiceTypeAdmin(admin.ModelAdmin):
    list_display = ("code", "name_zh", "name_en", "store", "kind", "duration_minutes", "required_skill", "is_active")
    list_filter = ("store", "kind", "required_skill", "is_active")
    search_fields = ("code", "name_zh", "name_en")


class CannedJobPartInline(admin.TabularInline):
    model = CannedJobPart
    extra = 1
    raw_id_fields = ("part",)


@admin.register(CannedJob)
class CannedJobAdmin(admin.ModelAdmin):
    list_display = ("name", "store", "service_type", "duration_minutes", "is_active")
    list_filter = ("store", "is_active")
    search_fields = ("name",)
    inlines = [CannedJobPartInline]


@admin.register(Bay)
class BayAdmin(admin.ModelAdmin):
    list_display = ("name", "store", "is_priority", "is_active")
    list_filter = ("store", "is_priority", "is_active")


@admin.register(TechnicianShift)
class TechnicianShiftAdmin(admin.ModelAdmin):
    list_display = ("user", "store", "weekday", "start", "end")
    list_filter = ("store", "weekday")
    raw_id_fields = ("user",)


class AppointmentEventInline(admin.TabularInline):
    model = AppointmentEvent
    extra = 0
    can_delete = False
    readonly_fields = ("from_state", "to_state", "actor", "reason", "at")

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


class ShortageInline(admin.TabularInline):
    model = AppointmentPartShortage
    extra = 0
    can_delete = False
    readonly_fields = ("part", "quantity", "available", "created_at")

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(Appointment)
class AppointmentAdmin(admin.ModelAdmin):
    list_display = ("id", "store", "start", "end", "status", "customer", "vehicle", "service_type", "bay", "technician", "advisor")
    list_filter = ("store", "status", "channel")
    date_hierarchy = "start"
    inlines = [AppointmentEventInline, ShortageInline]

    def get_readonly_fields(self, request, obj=None):  # type: ignore[no-untyped-def]
        return [f.name for f in Appointment._meta.fields]

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False
