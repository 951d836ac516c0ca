from django.contrib import admin

from .models import Checklist, ChecklistGroup, ChecklistItem, Inspection, InspectionItem, QcCheck, QcCheckItem, Rework


class ChecklistGroupInline(admin.TabularInline):
    model = ChecklistGroup
    extra = 0


class ChecklistItemInline(admin.TabularInline):
    model = ChecklistItem
    extra = 0
    fields = ["group", "seq", "name_zh", "name_en", "kind", "unit", "red_below", "yellow_below", "yellow_above", "red_above", "optional"]


@admin.register(Checklist)
class ChecklistAdmin(admin.ModelAdmin):
    list_display = ["name_zh", "name_en", "store", "purpose", "is_default", "is_active"]
    list_filter = ["store", "purpose", "is_active"]
    inlines = [ChecklistGroupInline, ChecklistItemInline]


class InspectionItemInline(admin.TabularInline):
    model = InspectionItem
    extra = 0
    fields = ["seq", "name_zh", "rating", "value", "unit", "auto_rating", "notes", "job"]
    readonly_fields = fields
    can_delete = False


@admin.register(Inspection)
class InspectionAdmin(admin.ModelAdmin):
    list_display = ["order", "store", "status", "technician", "started_at", "completed_at", "report_sent_at"]
    list_filter = ["store", "status"]
    readonly_fields = [f.name for f in Inspection._meta.fields]
    inlines = [InspectionItemInline]


class QcCheckItemInline(admin.TabularInline):
    model = QcCheckItem
    extra = 0
    readonly_fields = ["seq", "name_zh", "result", "note"]
    fields = readonly_fields
    can_delete = False


@admin.register(QcCheck)
class QcCheckAdmin(admin.ModelAdmin):
    list_display = ["order", "kind", "cycle", "result", "signed_by", "signed_at"]
    list_filter = ["store", "kind", "result"]
    readonly_fields = [f.name for f in QcCheck._meta.fields]
    inlines = [QcCheckItemInline]


@admin.register(Rework)
class ReworkAdmin(admin.ModelAdmin):
    list_display = ["order", "job", "technician", "reason", "at"]
    list_filter = ["store"]
    readonly_fields = [f.name for f in Rework._meta.fields]
