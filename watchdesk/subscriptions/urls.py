from django.urls import path

from watchdesk.subscriptions import views

app_name = "subscriptions"

urlpatterns = [
    path("", views.subscribe, name="subscribe"),
    path("sent/", views.sent, name="sent"),
    path("places.json", views.places, name="places"),
    path("preview.json", views.preview, name="preview"),
    path("resend/", views.resend, name="resend"),
    path("leave/", views.leave, name="leave"),
    path("leave/sent/", views.leave_sent, name="leave_sent"),
    path("confirm/<str:token>/", views.confirm, name="confirm"),
    path("welcome/<str:token>/", views.welcome, name="welcome"),
    path("preferences/<str:token>/", views.preferences, name="preferences"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("resubscribe/<str:token>/", views.resubscribe, name="resubscribe"),
]
