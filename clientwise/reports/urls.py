from django.urls import path

from clientwise.reports import views

app_name = "reports"
urlpatterns = [
    path("", views.index, name="index"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("run/", views.run, name="run"),
    path("drill/", views.drill, name="drill"),
    path("export.<str:fmt>", views.export, name="export"),
    path("save/", views.save, name="save"),
    path("<int:pk>/", views.report_detail, name="detail"),
    path("<int:pk>/delete/", views.delete, name="delete"),
    path("<int:pk>/schedule/", views.schedule, name="schedule"),
    path("<int:pk>/schedule/<int:schedule_id>/delete/", views.unschedule, name="unschedule"),
]
