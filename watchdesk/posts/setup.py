"""Create the page tree Watchdesk needs: a home page at the site root and the index pages below it."""

from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.db import transaction
from wagtail.models import Page, Site

from watchdesk.posts.models import (
    ArchiveIndexPage,
    AuthorIndexPage,
    HomePage,
    RegionIndexPage,
    TagIndexPage,
    TopicIndexPage,
)

INDEX_PAGES = [
    (TopicIndexPage, "Topics", "topics", "Browse posts by subject."),
    (RegionIndexPage, "Places", "regions", "Browse posts by country, state, county and city."),
    (TagIndexPage, "Tags", "tags", ""),
    (AuthorIndexPage, "Original authors", "authors", "The reporters whose stories we summarise."),
    (ArchiveIndexPage, "Archive", "archive", "Every post, month by month."),
]


# Wagtail's own groups get the taxonomy and author screens too: editors file posts under topics and
# places, and correct author names. Both work the wire's inbox ("change cluster") and look after its
# sources; only moderators delete a source (and with it the items it brought).
EDITOR_PERMISSIONS = {
    "Editors": [
        "add_topic",
        "change_topic",
        "change_region",
        "add_author",
        "change_author",
        "change_cluster",
        "view_source",
        "add_source",
        "change_source",
    ],
    "Moderators": [
        "add_topic",
        "change_topic",
        "delete_topic",
        "add_region",
        "change_region",
        "add_author",
        "change_author",
        "delete_author",
        "change_cluster",
        "view_source",
        "add_source",
        "change_source",
        "delete_source",
    ],
}


def grant_editor_permissions():
    for name, codenames in EDITOR_PERMISSIONS.items():
        group = Group.objects.filter(name=name).first()
        if group:
            group.permissions.add(
                *Permission.objects.filter(
                    content_type__app_label__in=["taxonomy", "posts", "wire"], codename__in=codenames
                )
            )


# Subscribers' addresses are personal data: only this group (and superusers) sees them, imports and
# exports them, and looks after suppressions and delivery reports.
AUDIENCE_MANAGERS = "Audience managers"
AUDIENCE_PERMISSIONS = {
    "wagtailadmin": ["access_admin"],
    "subscriptions": [
        "add_subscriber",
        "change_subscriber",
        "delete_subscriber",
        "view_subscriber",
        "view_subscriber_addresses",
        "change_subscriptionsettings",
        "add_suppression",
        "view_suppression",
        "delete_suppression",
    ],
    "delivery": [
        "view_broadcast",
        "view_digest",
        "view_delivery",
        "change_delivery",
        "view_mailevent",
    ],
}


def create_audience_group():
    """Returns True when the group was created just now."""
    group, created = Group.objects.get_or_create(name=AUDIENCE_MANAGERS)
    for app_label, codenames in AUDIENCE_PERMISSIONS.items():
        group.permissions.add(
            *Permission.objects.filter(content_type__app_label=app_label, codename__in=codenames)
        )
    return created


def publish(page):
    page.save_revision().publish()
    return page


@transaction.atomic
def setup_site():
    """Idempotent: returns the list of things it created."""
    created = []
    root = Page.get_first_root_node()
    home = HomePage.objects.first()
    if home is None:
        # Wagtail's migrations leave a plain "Welcome" page at the root; replace it when untouched.
        for page in root.get_children().exact_type(Page):
            if page.is_leaf():
                page.delete()
        root.refresh_from_db()
        home = root.add_child(instance=HomePage(title="Home", slug="home"))
        publish(home)
        created.append("home page")

    url = urlsplit(settings.SITE_URL)
    site = Site.objects.filter(is_default_site=True).first() or Site(is_default_site=True)
    wanted = {
        "hostname": url.hostname,
        "port": url.port or (443 if url.scheme == "https" else 80),
        "root_page_id": home.pk,
        "site_name": site.site_name or "Watchdesk",
    }
    if any(getattr(site, key) != value for key, value in wanted.items()):
        for key, value in wanted.items():
            setattr(site, key, value)
        site.save()
        created.append(f"site {url.hostname}:{wanted['port']}")

    grant_editor_permissions()
    if create_audience_group():
        created.append(f"group {AUDIENCE_MANAGERS}")
    for model, title, slug, intro in INDEX_PAGES:
        if not model.objects.exists():
            home.refresh_from_db()
            publish(home.add_child(instance=model(title=title, slug=slug, intro=intro)))
            created.append(f"{title.lower()} page")
    return created
