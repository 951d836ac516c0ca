from django.urls import path

from . import views

app_name = "engagement"

urlpatterns = [
    path("", views.report, name="report"),
    path("import/", views.import_start, name="import"),
    path("import/<int:pk>/", views.import_detail, name="import_detail"),
    path("import/<int:pk>/run/", views.import_run, name="import_run"),
    path("segments/", views.segment_list, name="segment_list"),
    path("segments/new/", views.segment_edit, name="segment_new"),
    path("segments/count/", views.segment_count, name="segment_count"),
    path("segments/<int:pk>/", views.segment_edit, name="segment_edit"),
    path("segments/<int:pk>/export.<str:fmt>", views.segment_export, name="segment_export"),
    path("settings/", views.tier_settings, name="settings"),
    path("customers/<int:pk>/advisor/", views.advisor_assign, name="advisor_assign"),
]
