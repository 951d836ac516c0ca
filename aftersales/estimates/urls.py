"""Mounted at the site root: the staff order pages under ``orders/``, the customer's signed links under ``e/`` (the
estimate to approve) and ``o/`` (the order's status page)."""

from django.urls import path

from . import views

app_name = "estimates"

urlpatterns = [
    path("orders/", views.order_list, name="order_list"),
    path("orders/labour-guide/", views.labour_guide, name="labour_guide"),
    path("orders/<int:pk>/", views.order_detail, name="order_detail"),
    path("orders/<int:pk>/add-operation/", views.add_operation, name="add_operation"),
    path("orders/<int:pk>/diagnosis/", views.order_diagnosis, name="order_diagnosis"),
    path("orders/<int:pk>/add-canned-job/", views.add_canned, name="add_canned"),
    path("orders/<int:pk>/add-job/", views.add_job, name="add_job"),
    path("orders/<int:pk>/jobs/<int:job_id>/edit/", views.job_edit, name="job_edit"),
    path("orders/<int:pk>/jobs/<int:job_id>/delete/", views.job_delete, name="job_delete"),
    path("orders/<int:pk>/options/", views.group_options, name="group_options"),
    path("orders/<int:pk>/send/", views.send, name="send"),
    path("orders/<int:pk>/withdraw/", views.withdraw, name="withdraw"),
    path("orders/<int:pk>/move/", views.order_move, name="order_move"),
    path("orders/<int:pk>/repropose/", views.repropose, name="repropose"),
    path("orders/<int:pk>/sign/", views.tablet_sign, name="tablet_sign"),
    path("orders/<int:pk>/phone-approval/", views.phone_approval, name="phone_approval"),
    path("orders/<int:pk>/additional-work/", views.additional_work, name="additional_work"),
    path("orders/<int:pk>/photos/<int:photo_id>/", views.photo, name="photo"),
    path("fault-photos/<int:photo_id>/", views.fault_photo, name="fault_photo"),
    path("orders/<int:pk>/authorizations/<int:auth_id>/signature.png", views.signature, name="signature"),
    path("e/<str:token>/", views.approve, name="approve"),
    path("o/<str:token>/", views.status, name="status"),
    path("o/<str:token>/photos/<int:photo_id>/", views.status_photo, name="status_photo"),
]
