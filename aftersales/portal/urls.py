from django.urls import path

from . import views

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
    path("appointments/<int:pk>/", views.appointment, name="appointment"),
    path("cars/<int:pk>/", views.car, name="car"),
    path("orders/<int:pk>/", views.order, name="order"),
    path("orders/<int:pk>/photos/<int:photo_id>/", views.order_photo, name="order_photo"),
    path("orders/<int:pk>/documents/<str:kind>.pdf", views.order_document, name="order_document"),
    path("points/", views.points, name="points"),
    path("feedback/", views.feedback, name="feedback"),
    path("manifest.webmanifest", views.manifest, name="manifest"),
    path("sw.js", views.service_worker, name="service_worker"),
    path("offline/", views.offline, name="offline"),
]

public_urlpatterns = [
    path("book/<str:store_code>/", views.book_link, name="book_link"),
]
