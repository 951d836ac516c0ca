from django.urls import path

from . import views

app_name = "inspections"

urlpatterns = [
    path("", views.inspection_list, name="list"),
    path("orders/<int:order_id>/start/", views.inspection_start, name="start"),
    path("<int:pk>/", views.inspection_detail, name="detail"),
    path("<int:pk>/items/<int:item_id>/", views.item_save, name="item_save"),
    path("<int:pk>/items/<int:item_id>/photos/", views.photo_upload, name="photo_upload"),
    path("<int:pk>/diagnosis/", views.diagnosis_save, name="diagnosis"),
    path("<int:pk>/complete/", views.inspection_complete, name="complete"),
    path("<int:pk>/reopen/", views.inspection_reopen, name="reopen"),
    path("<int:pk>/cancel/", views.inspection_cancel, name="cancel"),
    path("<int:pk>/propose-jobs/", views.propose_jobs, name="propose_jobs"),
    path("<int:pk>/send/", views.report_send, name="send"),
    path("<int:pk>/report.pdf", views.report_pdf, name="report_pdf"),
    path("photos/<int:photo_id>/", views.photo_view, name="photo"),
    path("photos/<int:photo_id>/delete/", views.photo_delete, name="photo_delete"),
    path("checklists/", views.checklist_list, name="checklists"),
    path("checklists/new/", views.checklist_edit, name="checklist_new"),
    path("checklists/install/", views.checklist_install, name="checklist_install"),
    path("checklists/<int:pk>/", views.checklist_edit, name="checklist_edit"),
    path("qc/", views.qc_list, name="qc_list"),
    path("qc/orders/<int:order_id>/", views.qc_order, name="qc_order"),
    path("qc/orders/<int:order_id>/final/start/", views.qc_final_start, name="qc_final_start"),
    path("qc/orders/<int:order_id>/sign/<str:kind>/", views.qc_sign, name="qc_sign"),
    # the customer's report: a signed link, no login
    path("r/<str:token>/", views.public_report, name="public_report"),
    path("r/<str:token>/report.pdf", views.public_report_pdf, name="public_report_pdf"),
    path("r/<str:token>/photos/<int:photo_id>/", views.public_photo, name="public_photo"),
]
