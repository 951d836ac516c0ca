from django.contrib.auth import views as auth_views
from django.urls import path

from . import reception, views

app_name = "web"

urlpatterns = [
    path("", views.home, name="home"),
    path("search/", views.search, name="search"),
    path("customers/", views.customer_list, name="customer_list"),
    path("customers/new/", views.customer_create, name="customer_create"),
    path("customers/attach/", views.customer_attach, name="customer_attach"),
    path("customers/attach/<int:pk>/", views.customer_attach_confirm, name="customer_attach_confirm"),
    path("customers/<int:pk>/", views.customer_detail, name="customer_detail"),
    path("customers/<int:pk>/edit/", views.customer_edit, name="customer_edit"),
    path("customers/<int:pk>/export/", views.customer_export, name="customer_export"),
    path("customers/<int:pk>/consents/", views.consent_add, name="consent_add"),
    path("customers/<int:pk>/vehicles/new/", views.vehicle_create, name="vehicle_create"),
    path("vehicles/<int:pk>/edit/", views.vehicle_edit, name="vehicle_edit"),
    path("vehicles/<int:pk>/mileage/", views.mileage_add, name="mileage_add"),
    path("vehicles/<int:pk>/transfer/", views.vehicle_transfer, name="vehicle_transfer"),
    path("appointments/reception/", reception.reception, name="reception"),
    path("data-quality/", views.data_quality, name="data_quality"),
    path("tokens/", views.tokens, name="tokens"),
    path("tokens/<int:pk>/revoke/", views.token_revoke_view, name="token_revoke"),
    path("language/", views.set_language, name="set_language"),
]

auth_urlpatterns = [
    path("login/", views.ThrottledLoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
]
