from django.templatetags.static import static
from django.urls import path
from django.utils.html import format_html
from wagtail import hooks
from wagtail.snippets.models import register_snippet
from wagtail.snippets.views.snippets import SnippetViewSet

from watchdesk.posts import admin_views
from watchdesk.posts.models import Author


class AuthorViewSet(SnippetViewSet):
    model = Author
    icon = "user"
    menu_label = "Original authors"
    menu_order = 300
    add_to_admin_menu = True
    list_display = ["name", "slug"]
    search_fields = ["name"]
    search_backend_name = None
    form_fields = ["name", "slug"]


register_snippet(AuthorViewSet)


@hooks.register("register_admin_urls")
def register_recipient_count_url():
    return [path("posts/recipients/", admin_views.recipient_count, name="posts_recipient_count")]


@hooks.register("insert_editor_js")
def email_choice_js():
    return format_html('<script src="{}"></script>', static("posts/js/email_choice.js"))
