from django.urls import path

from . import views
from .public_documents import public_invoice

app_name = "billing"

urlpatterns = [
    path("cashier/", views.cashier, name="cashier"),
    path("invoices/<int:pk>/", views.invoice_detail, name="invoice"),
    path("invoices/<int:pk>/pay/", views.payment_add, name="pay"),
    path("invoices/<int:pk>/pay-loyalty/", views.loyalty_payment_add, name="pay_loyalty"),
    path("invoices/<int:pk>/refund/", views.refund_add, name="refund"),
    path("invoices/<int:pk>/refund-online/", views.refund_online_add, name="refund_online"),
    path("invoices/<int:pk>/credit-note/", views.credit_note_add, name="credit_note"),
    path("invoices/<int:pk>/insurer/<str:language>.pdf", views.insurer_document, name="insurer_document"),
    path("receivables/", views.receivables, name="receivables"),
    path("orders/<int:pk>/", views.order_page, name="order"),
    path("orders/<int:order_pk>/invoice/", views.invoice_issue, name="issue"),
    path("orders/<int:pk>/credit/", views.credit_allow, name="credit"),
    path("orders/<int:pk>/deliver/", views.deliver, name="deliver"),
    path("orders/<int:pk>/documents/<str:kind>/<str:language>.pdf", views.document, name="document"),
    path("vehicles/<int:pk>/archive/", views.vehicle_archive, name="archive"),
    path("pay/<str:token>/", views.pay_online, name="pay_online"),
    path("d/<str:token>/invoice.pdf", public_invoice, name="public_invoice"),
    path("wechatpay/notify/", views.wechatpay_notify, name="wechatpay_notify"),
    path("notify/wechat/<int:merchant_id>/", views.wechat_notify, name="wechat_notify"),
    path("notify/alipay/<int:merchant_id>/", views.alipay_notify, name="alipay_notify"),
    path("notify/wechat/<int:merchant_id>/refund/", views.wechat_refund_notify, name="wechat_refund_notify"),
    path("merchants/", views.merchants, name="merchants"),
]
