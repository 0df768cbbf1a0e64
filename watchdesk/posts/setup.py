"""Create the page tree Watchdesk needs: a home page at the site root and the index pages below it."""

from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from wagtail.models import Page, Site

from watchdesk.core.groups import grant_group_permissions
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

    created.extend(f"group {name}" for name in grant_group_permissions())
    for model, title, slug, intro in INDEX_PAGES:
        if not model.objects.exists():
            home.refresh_from_db()
            publish(home.add_child(instance=model(title=title, slug=slug, intro=intro)))
            created.append(f"{title.lower()} page")
    return created
