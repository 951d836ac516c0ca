from django.urls import path

from . import views

app_name = "loyalty"

urlpatterns = [
    path("", views.store_page, name="store"),
    path("referrals/", views.referrals, name="referrals"),
    path("customers/<int:pk>/", views.customer_section, name="customer_section"),
    path("customers/<int:pk>/issue/", views.customer_issue, name="customer_issue"),
    path("customers/<int:pk>/adjust/", views.customer_adjust, name="customer_adjust"),
]
