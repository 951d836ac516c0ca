from django.urls import path

from . import views

app_name = "telematics"

urlpatterns = [
    path("", views.home, name="home"),
    path("devices/new/", views.device_new, name="device_new"),
    path("devices/<int:pk>/", views.device_detail, name="device"),
    path("devices/<int:pk>/rotate/", views.device_rotate, name="device_rotate"),
    path("devices/<int:pk>/revoke/", views.device_revoke, name="device_revoke"),
    path("alerts/<int:pk>/close/", views.alert_close, name="alert_close"),
    path("rules/", views.rules, name="rules"),
]
