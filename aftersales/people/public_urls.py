"""The rating terminal and the customer's phone rating: no staff sign-in (mounted at the site root)."""

from django.urls import path

from . import kiosk_views

app_name = "kiosk"

urlpatterns = [
    path("kiosk/", kiosk_views.page, name="page"),
    path("kiosk/rate/", kiosk_views.rate, name="rate"),
    path("kiosk/pair/<str:key>/", kiosk_views.pair, name="pair"),
    path("rate/<str:token>/", kiosk_views.phone, name="phone"),
]
