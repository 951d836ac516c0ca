from django.contrib import admin

from .models import RepairJob, RepairLine, RepairOrder


class JobInline(admin.TabularInline):
    model = RepairJob
    extra = 0


@admin.register(RepairOrder)
class RepairOrderAdmin(admin.ModelAdmin):
    list_display = ("number", "store", "customer", "vehicle", "status", "opened_at", "total")
    list_filter = ("store", "status")
    search_fields = ("number",)
    raw_id_fields = ("customer", "vehicle", "advisor")
    inlines = [JobInline]


admin.site.register(RepairLine)
