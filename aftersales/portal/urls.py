from django.urls import path

from . import rescue_views, shop_views, trip_views, views

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.login, name="login"),
    path("logout/", views.logout, name="logout"),
    path("language/", views.set_language, name="language"),
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/<int:pk>/", views.inbox_item, name="inbox_item"),
    path("book/", views.book, name="book"),
    path("pickup/", views.pickup, name="pickup"),
    path("trips/<int:pk>/", trip_views.trip_page, name="trip"),
    path("trips/<int:pk>/call/", trip_views.trip_call, name="trip_call"),
    path("appointments/<int:pk>/", views.appointment, name="appointment"),
    path("cars/<int:pk>/", views.car, name="car"),
    path("orders/<int:pk>/", views.order, name="order"),
    path("orders/<int:pk>/pay/", views.order_pay, name="order_pay"),
    path("orders/<int:pk>/rate/", views.order_rate, name="order_rate"),
    path("orders/<int:pk>/photos/<int:photo_id>/", views.order_photo, name="order_photo"),
    path("orders/<int:pk>/documents/<str:kind>.pdf", views.order_document, name="order_document"),
    path("points/", views.points, name="points"),
    path("shop/", shop_views.shop_home, name="shop"),
    path("shop/items/<int:pk>/photo/", shop_views.shop_photo, name="shop_photo"),
    path("shop/cart/", shop_views.shop_cart, name="shop_cart"),
    path("shop/orders/", shop_views.shop_orders, name="shop_orders"),
    path("shop/orders/<int:pk>/", shop_views.shop_order, name="shop_order"),
    path("shop/orders/<int:pk>/pay/", shop_views.shop_order_pay, name="shop_order_pay"),
    path("rescue/", rescue_views.rescue_request, name="rescue"),
    path("rescue/<int:pk>/", rescue_views.rescue_case, name="rescue_case"),
    path("rescue/<int:pk>/cancel/", rescue_views.rescue_cancel, name="rescue_cancel"),
    path("rescue/<int:pk>/photo/", rescue_views.rescue_photo, name="rescue_photo"),
    path("feedback/", views.feedback, name="feedback"),
    path("privacy/", views.privacy, name="privacy"),
    path("privacy/my-data.json", views.privacy_export, name="privacy_export"),
    path("privacy/my-data.zip", views.privacy_export_zip, name="privacy_export_zip"),
    path("wechat/bind/", views.wechat_bind, name="wechat_bind"),
    path("wechat/back/", views.wechat_back, name="wechat_back"),
    path("manifest.webmanifest", views.manifest, name="manifest"),
    path("sw.js", views.service_worker, name="service_worker"),
    path("offline/", views.offline, name="offline"),
]

public_urlpatterns = [
    path("book/<str:store_code>/", views.book_link, name="book_link"),
]

#: staff pages (mounted at /privacy/, namespace portal_staff)
staff_urlpatterns = ([
    path("deletions/", views.deletion_queue, name="deletions"),
], "portal_staff")

#: the stores' queue of app orders (mounted at /shop/, namespace portal_shop)
shop_staff_urlpatterns = ([
    path("orders/", shop_views.staff_orders, name="orders"),
    path("orders/<int:pk>/", shop_views.staff_order, name="order"),
], "portal_shop")
