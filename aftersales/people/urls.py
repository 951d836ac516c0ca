from django.urls import path

from . import views

app_name = "people"

urlpatterns = [
    path("", views.store_page, name="store"),
    path("me/", views.my_page, name="me"),
    path("certificates/<int:pk>/", views.certificate_edit, name="certificate"),
    path("certificates/<int:pk>/scan/", views.certificate_scan, name="scan"),
    path("terminals/", views.terminals, name="terminals"),
    path("training/", views.training, name="training"),
    path("incentives/", views.incentives, name="incentives"),
    path("settings/", views.settings_page, name="settings"),
    path("receptions/", views.receptions, name="receptions"),
    path("meeting/", views.meeting, name="meeting"),
    path("orders/<int:pk>/rating/", views.order_rating, name="order_rating"),
]
