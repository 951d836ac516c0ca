from django.contrib import admin

from .models import FeedbackCase, FeedbackSettings, FollowUp, ImprovementAction, LabelCorrection, RoutingRule, SlaTimer


class TimerInline(admin.TabularInline):
    model = SlaTimer
    extra = 0
    readonly_fields = ("kind", "amount", "unit", "started_at", "warn_at", "due_at", "met_at", "warned_at", "breached_at")


@admin.register(FeedbackCase)
class FeedbackCaseAdmin(admin.ModelAdmin):
    list_display = ("id", "store", "kind", "channel", "category", "status", "owner", "created_at")
    list_filter = ("store", "kind", "channel", "category", "status")
    search_fields = ("text", "contact_mobile")
    raw_id_fields = ("customer", "vehicle", "order", "followup", "owner")
    inlines = [TimerInline]


@admin.register(FollowUp)
class FollowUpAdmin(admin.ModelAdmin):
    list_display = ("id", "store", "order", "method", "status", "due_at", "attempts", "answered_at")
    list_filter = ("store", "method", "status")
    raw_id_fields = ("order", "customer", "vehicle", "advisor", "answered_by")


admin.site.register(FeedbackSettings)
admin.site.register(RoutingRule)
admin.site.register(LabelCorrection)
admin.site.register(ImprovementAction)
