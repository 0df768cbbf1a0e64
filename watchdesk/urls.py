from django.conf import settings
from django.conf.urls.static import static
from django.urls import include, path
from wagtail import urls as wagtail_urls
from wagtail.admin import urls as wagtailadmin_urls
from wagtail.contrib.sitemaps.views import sitemap
from wagtail.documents import urls as wagtaildocs_urls

from watchdesk.core import views as core_views
from watchdesk.demo import views as demo_views
from watchdesk.posts import views as post_views
from watchdesk.wire import websub_views

urlpatterns = [
    path("healthz", core_views.healthz, name="healthz"),
    path("robots.txt", core_views.robots_txt, name="robots_txt"),
    path("sitemap.xml", sitemap, name="sitemap"),
    path("search/", post_views.search, name="search"),
    path("subscribe/", include("watchdesk.subscriptions.urls")),
    # django-anymail's provider webhooks, for the providers this site is configured for (404 for others).
    path("webhooks/mail/", include("watchdesk.delivery.urls")),
    # Where WebSub hubs confirm our subscriptions and push sources' feeds (docs/wire.md, "Push").
    path("websub/<str:token>/", websub_views.callback, name="websub_callback"),
    path("admin/", include(wagtailadmin_urls)),
    path("documents/", include(wagtaildocs_urls)),
    # Answers only when DEBUG or DEMO_FEEDS is on (404 otherwise): the demo wire's sample feeds.
    path("demo/feeds/<slug:slug>/", demo_views.demo_feed, name="demo_feed"),
]

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

urlpatterns += [path("", include(wagtail_urls))]
