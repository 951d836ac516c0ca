"""Purchasing, transfer and report screens, mounted under /parts/ by aftersales/urls.py; namespace "purchasing"."""

from django.urls import path

from . import views_purchasing as v

app_name = "purchasing"

urlpatterns = [
    path("reorder/", v.reorder, name="reorder"),
    path("reorder/run/", v.reorder_run, name="reorder_run"),
    path("reorder/order/", v.requisitions_order, name="requisitions_order"),
    path("requisitions/<int:pk>/cancel/", v.requisition_cancel, name="requisition_cancel"),
    path("purchase-orders/", v.po_list, name="po_list"),
    path("purchase-orders/new/", v.po_create, name="po_create"),
    path("purchase-orders/<int:pk>/", v.po_detail, name="po_detail"),
    path("purchase-orders/<int:pk>/receive/", v.po_receive, name="po_receive"),
    path("purchase-orders/<int:pk>/pdf/", v.po_pdf, name="po_pdf"),
    path("purchase-orders/<int:pk>/<str:action>/", v.po_action, name="po_action"),
    path("suppliers/", v.supplier_list, name="supplier_list"),
    path("suppliers/new/", v.supplier_edit, name="supplier_create"),
    path("suppliers/<int:pk>/", v.supplier_edit, name="supplier_edit"),
    path("transfers/", v.transfer_list, name="transfer_list"),
    path("transfers/new/", v.transfer_create, name="transfer_create"),
    path("transfers/<int:pk>/", v.transfer_detail, name="transfer_detail"),
    path("transfers/<int:pk>/<str:action>/", v.transfer_action, name="transfer_action"),
    path("recall/", v.recall, name="recall"),
    path("valuation/", v.valuation, name="valuation"),
]
