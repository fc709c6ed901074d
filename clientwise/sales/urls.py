"""Sales pages (mounted at /sales/)."""

from django.urls import path

from clientwise.sales import views

app_name = "sales"
urlpatterns = [
    path("", views.index, name="index"),
    path("mentions/read/", views.mentions_read, name="mentions_read"),
    path("leads/", views.lead_list, name="leads"),
    path("leads/new/", views.lead_new, name="lead_new"),
    path("leads/import/", views.lead_import, name="lead_import"),
    path("leads/<int:pk>/", views.lead_detail, name="lead"),
    path("leads/<int:pk>/convert/", views.lead_convert, name="lead_convert"),
    path("leads/<int:pk>/status/", views.lead_status, name="lead_status"),
    path("board/", views.board, name="board"),
    path("opportunities/", views.opportunity_list, name="opportunities"),
    path("opportunities/new/", views.opportunity_new, name="opportunity_new"),
    path("opportunities/<int:pk>/", views.opportunity_detail, name="opportunity"),
    path("opportunities/<int:pk>/move/", views.opportunity_move, name="opportunity_move"),
    path("customers/pick/", views.pick_customer, name="pick_customer"),
    path("activities/new/", views.activity_new, name="activity_new"),
    path("activities/<int:pk>/done/", views.activity_done, name="activity_done"),
    path("notes/new/", views.note_new, name="note_new"),
    path("forecast/", views.forecast, name="forecast"),
    path("forecast/quota/", views.quota_set, name="quota_set"),
    path("accounts/", views.account_list, name="accounts"),
    path("accounts/new/", views.account_new, name="account_new"),
    path("accounts/<int:pk>/", views.account_detail, name="account"),
    path("accounts/<int:pk>/stage/", views.account_stage, name="account_stage"),
    path("accounts/<int:pk>/wallet/", views.account_wallet, name="account_wallet"),
    path("accounts/<int:pk>/costs/", views.account_cost, name="account_cost"),
    path("accounts/<int:pk>/goals/", views.account_goal, name="account_goal"),
    path("accounts/<int:pk>/goals/<int:goal_id>/", views.account_goal_status, name="account_goal_status"),
    path("accounts/<int:pk>/contacts/", views.account_contact, name="account_contact"),
    path("transfer/", views.transfer, name="transfer"),
    path("settings/", views.settings_page, name="settings"),
    path("settings/pipelines/<int:pk>/", views.pipeline_save, name="pipeline_save"),
    path("settings/<slug:what>/", views.settings_action, name="settings_action"),
    path("form/<str:token>/", views.webform, name="webform"),
]
