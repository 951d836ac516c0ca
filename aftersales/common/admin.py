from django.contrib import admin

from .models import AuditEvent, WorkerHeartbeat


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ("at", "actor", "action", "object_repr", "store", "reason")
    list_filter = ("action", "store")
    search_fields = ("object_repr", "action", "reason")
    readonly_fields = [f.name for f in AuditEvent._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


admin.site.register(WorkerHeartbeat)
