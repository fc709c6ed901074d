from django.urls import path

from clientwise.service import views

app_name = "service"
urlpatterns = [
    path("", views.index, name="index"),
    path("lookup/", views.lookup, name="lookup"),
    path("call/<int:pk>/", views.call_screen, name="call"),
    path("kb/", views.kb, name="kb"),
    path("tickets/", views.ticket_list, name="tickets"),
    path("tickets/new/", views.ticket_new, name="ticket_new"),
    path("tickets/<int:pk>/", views.ticket_detail, name="ticket"),
    path("tickets/<int:pk>/attachments/<int:attachment_id>/", views.attachment, name="attachment"),
    path("tickets/<int:pk>/<slug:action>/", views.ticket_action, name="ticket_action"),
    path("work-orders/", views.work_order_list, name="work_orders"),
    path("work-orders/new/", views.work_order_new, name="work_order_new"),
    path("work-orders/<int:pk>/", views.work_order_detail, name="work_order"),
    path("work-orders/<int:pk>/<slug:action>/", views.work_order_action, name="work_order_action"),
    path("reports/", views.report, name="report"),
    path("reports/weights/", views.weights, name="weights"),
    path("settings/", views.settings_index, name="settings"),
    path("settings/<slug:kind>/new/", views.config_edit, name="config_new"),
    path("settings/<slug:kind>/<int:pk>/", views.config_edit, name="config_edit"),
    path("surveys/<int:pk>/", views.survey_link, name="survey"),
    path("s/<str:token>/", views.survey_answer, name="survey_answer"),
]
