from django.urls import path

from . import views, views_stocktake

app_name = "parts"

urlpatterns = [
    path("", views.part_search, name="part_search"),
    path("new/", views.part_create, name="part_create"),
    path("export.xlsx", views.catalogue_export, name="catalogue_export"),
    path("import/", views.catalogue_import, name="catalogue_import"),
    path("adjustments/", views.adjustment_list, name="adjustment_list"),
    path("adjustments/<int:pk>/decide/", views.adjustment_decide, name="adjustment_decide"),
    path("reservations/", views.reservation_list, name="reservation_list"),
    path("reservations/<int:pk>/release/", views.reservation_release, name="reservation_release"),
    path("stock/<int:pk>/movements/", views.stock_item_movements, name="stock_item_movements"),
    path("movements/<int:pk>/", views.movement_detail, name="movement_detail"),
    path("online/", views.online_list, name="online_list"),
    path("<int:pk>/online/", views.online_edit, name="online_edit"),
    path("<int:pk>/online/photo/", views.online_photo, name="online_photo"),
    path("<int:pk>/", views.part_detail, name="part_detail"),
    path("<int:pk>/edit/", views.part_edit, name="part_edit"),
    path("<int:pk>/receive/", views.stock_receive, name="stock_receive"),
    path("<int:pk>/issue/", views.stock_issue, name="stock_issue"),
    path("<int:pk>/return/", views.stock_return, name="stock_return"),
    path("<int:pk>/adjust/", views.stock_adjust, name="stock_adjust"),
    path("stocktakes/", views_stocktake.stocktake_list, name="stocktake_list"),
    path("stocktakes/new/", views_stocktake.stocktake_start, name="stocktake_start"),
    path("stocktakes/<int:pk>/", views_stocktake.stocktake_detail, name="stocktake_detail"),
    path("stocktakes/<int:pk>/post/", views_stocktake.stocktake_post, name="stocktake_post"),
    path("stocktakes/<int:pk>/cancel/", views_stocktake.stocktake_cancel, name="stocktake_cancel"),
]
