from django.urls import path

from . import views

app_name = "reception"

urlpatterns = [
    path("", views.handover_list, name="list"),
    path("start/", views.handover_start, name="start"),
    path("<int:pk>/", views.handover_sheet, name="sheet"),
    path("<int:pk>/marks/", views.mark_add, name="mark_add"),
    path("<int:pk>/marks/<int:mark_id>/remove/", views.mark_remove, name="mark_remove"),
    path("<int:pk>/photos/", views.photo_add, name="photo_add"),
    path("<int:pk>/sign/", views.sign_on_screen, name="sign"),
    path("<int:pk>/request-link/", views.request_link, name="request_link"),
    path("<int:pk>/open-order/", views.open_order, name="open_order"),
    path("<int:pk>/pdf/", views.handover_pdf, name="pdf"),
]

public_urlpatterns = [
    path("h/<str:token>/", views.customer_sign, name="customer_sign"),
]
