from django.urls import path

from . import views

app_name = "mobility"

urlpatterns = [
    path("", views.fleet, name="fleet"),
    path("cars/", views.car_add, name="car_add"),
    path("book/", views.book, name="book"),
    path("do-not-lend/", views.no_lend_add, name="no_lend_add"),
    path("waitlist/<int:pk>/cancel/", views.waitlist_cancel, name="waitlist_cancel"),
    path("bookings/<int:pk>/", views.booking_page, name="booking"),
    path("bookings/<int:pk>/marks/", views.mark_add, name="mark_add"),
    path("bookings/<int:pk>/photos/", views.photo_add, name="photo_add"),
    path("bookings/<int:pk>/hand-out/", views.hand_out, name="hand_out"),
    path("bookings/<int:pk>/return/", views.give_back, name="return"),
    path("bookings/<int:pk>/cancel/", views.cancel, name="cancel"),
    path("bookings/<int:pk>/supplement/", views.supplement_settle, name="supplement_settle"),
]

from . import trip_views  # noqa: E402

urlpatterns += [
    path("trips/board/", trip_views.board, name="board"),
    path("trips/new/", trip_views.trip_new, name="trip_new"),
    path("trips/plan/", trip_views.plan_apply, name="plan_apply"),
    path("trips/shifts/", trip_views.shifts, name="shifts"),
    path("trips/<int:pk>/delivery-window/", trip_views.delivery_window, name="trip_delivery_window"),
    path("trips/<int:pk>/schedule/", trip_views.schedule, name="trip_schedule"),
    path("trips/<int:pk>/move/", trip_views.driver_move, name="trip_move"),
    path("trips/<int:pk>/handover/<str:phase>/", trip_views.handover, name="trip_handover"),
    path("trips/<int:pk>/call/", trip_views.call, name="trip_call"),
    path("driver/", trip_views.driver_page, name="driver"),
]
