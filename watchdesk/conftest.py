"""Shared fixtures: the page tree, a small gazetteer, and the people who use the site."""

from datetime import UTC, datetime, timedelta
from itertools import count

import pytest
from django.contrib.auth.models import Group
from django.core.cache import caches
from django.core.management import call_command
from django.db import connections
from django.test import override_settings
from wagtail.models import Page

from watchdesk.posts.models import HomePage, StoryPost, StoryPostRegion
from watchdesk.posts.setup import setup_site
from watchdesk.taxonomy.models import Region, Topic

# Topic fixtures shared by the taxonomy and wire tests.
pytest_plugins = ["watchdesk.taxonomy.tests.topic_fixtures"]

_numbers = count(1)

IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend", "QUEUES": []}}
DATABASE_QUEUE = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}


@pytest.fixture(autouse=True)
def immediate_tasks(settings):
    """Tests run background tasks (search indexing, reference index, ...) as they are enqueued."""
    settings.TASKS = IMMEDIATE


@pytest.fixture(autouse=True)
def fresh_wire_caches():
    """The wire caches its compiled gazetteer and topic rules per process, keyed on row counts and ids;
    ids repeat after each test's rollback, so every test starts with empty caches."""
    yield
    from watchdesk.wire import places, topics

    places.forget_geotagger()
    topics.forget_matcher()


@pytest.fixture(autouse=True)
def empty_caches():
    """Every test starts with empty Django caches: cached answers (the subscribe form's counts, rate
    limits) live per process, and another test's posts would show through them."""
    for cache in caches.all():
        cache.clear()


@pytest.fixture
def database_queue(settings):
    """The real queue, for tests of the worker, the scheduler and health reporting."""
    settings.TASKS = DATABASE_QUEUE


@pytest.fixture
def run_queue(database_queue):
    """Run what is queued, as `watchdesk worker` does, until the queue is empty. The worker closes
    connections between tasks: only for transactional tests."""

    def run():
        call_command("db_worker", batch=True, reload=False, startup_delay=False, verbosity=0)

    return run


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Each test database starts with the page tree and the groups' permissions, as a migrated site does
    after `setup_site`: made once per run instead of in each of the hundreds of tests that need it."""
    with django_db_blocker.unblock(), override_settings(TASKS=IMMEDIATE):
        setup_site()
        # Transactional tests with serialized_rollback restore this snapshot: take it again, site included.
        for connection in connections.all(initialized_only=True):
            if hasattr(connection, "_test_serialized_contents"):
                connection._test_serialized_contents = connection.creation.serialize_db_to_string()


@pytest.fixture
def home(db):
    setup_site()  # a quick check now; it still follows a SITE_URL the test has set
    return HomePage.objects.get()


@pytest.fixture
def regions(db):
    """United States > California > Los Angeles County / Los Angeles; Texas > Houston; Mali."""

    def region(code, name, kind, parent=None, slug=None):
        return Region.objects.create(
            code=code,
            name=name,
            kind=kind,
            parent=parent,
            slug=slug or name.lower().replace(" ", "-"),
        )

    us = region("US", "United States", Region.Kind.COUNTRY)
    california = region("US-CA", "California", Region.Kind.STATE, us)
    texas = region("US-TX", "Texas", Region.Kind.STATE, us)
    return {
        "us": us,
        "california": california,
        "texas": texas,
        "la_county": region(
            "county:06037",
            "Los Angeles County",
            Region.Kind.COUNTY,
            california,
            slug="los-angeles-county-ca",
        ),
        "los_angeles": region(
            "city:5368361", "Los Angeles", Region.Kind.CITY, california, slug="los-angeles-ca"
        ),
        "houston": region("city:4699066", "Houston", Region.Kind.CITY, texas, slug="houston-tx"),
        "mali": region("ML", "Mali", Region.Kind.COUNTRY),
    }


@pytest.fixture
def topics(db):
    return {
        slug: Topic.objects.create(slug=slug, name=slug.replace("-", " ").title())
        for slug in ("wildfire", "hazmat", "flooding", "terrorism")
    }


@pytest.fixture
def make_post(home):
    """Publish a story post; every argument has a sensible default."""

    def make(
        title=None,
        *,
        published=None,
        topics=(),
        regions=(),
        tags=(),
        live=True,
        parent=None,
        **fields,
    ):
        n = next(_numbers)
        title = title or f"Story number {n}"
        published = published or datetime(2026, 10, 1, 12, tzinfo=UTC) + timedelta(hours=n)
        values = {
            "title": title,
            "slug": fields.pop("slug", f"story-{n}"),
            "summary": f"Summary of {title}.",
            "body": f"<p>Body of {title}.</p>",
            "source_name": "Valley Courier",
            "source_url": f"https://news.example.org/{n}",
            "byline": "Dana Ortiz",
            "source_published_at": published - timedelta(hours=2),
            "first_published_at": published,
            **fields,
        }
        post = StoryPost(**values)
        post.live = live
        post.topics.set(list(topics))
        post.tags.set(list(tags))
        post.region_links = [StoryPostRegion(region=region, sort_order=i) for i, region in enumerate(regions)]
        (parent or Page.objects.get(pk=home.pk)).add_child(instance=post)
        if live:
            post.save_revision().publish()
        else:
            post.live = False
            post.save_revision()
            StoryPost.objects.filter(pk=post.pk).update(live=False)
        post.refresh_from_db()
        return post

    return make


@pytest.fixture
def editor(django_user_model):
    user = django_user_model.objects.create_user("erin", "erin@example.org", "correct horse 1")
    user.groups.add(Group.objects.get(name="Editors"))
    return user


@pytest.fixture
def moderator(django_user_model):
    user = django_user_model.objects.create_user("morgan", "morgan@example.org", "correct horse 2")
    user.groups.add(Group.objects.get(name="Moderators"))
    return user


@pytest.fixture
def superuser(django_user_model, home):
    return django_user_model.objects.create_superuser("sam", "sam@example.org", "correct horse 4")


@pytest.fixture
def audience_manager(django_user_model, home):
    """Manages subscribers: sees addresses, imports, exports, delivery reports and suppressions."""
    user = django_user_model.objects.create_user("ada", "ada@example.org", "correct horse 5")
    user.groups.add(Group.objects.get(name="Audience managers"))
    return user


@pytest.fixture
def outsider(django_user_model):
    return django_user_model.objects.create_user("oscar", "oscar@example.org", "correct horse 3")


@pytest.fixture
def mail_server(settings):
    """A real SMTP server (aiosmtpd) on a free local port, with Django pointed at it."""
    from watchdesk.testing.mailserver import MailServer

    server = MailServer().start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = server.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5
    yield server
    server.stop()


@pytest.fixture
def subscriber(db):
    """Make a subscriber; confirmed and receiving everything unless told otherwise."""
    from watchdesk.subscriptions.models import Subscriber

    def make(email=None, *, status="confirmed", topics=(), regions=(), **fields):
        n = next(_numbers)
        values = {"email": email or f"reader{n}@example.net", "status": status, **fields}
        if topics or regions:
            values["everything"] = False
        if status == "confirmed":
            values.setdefault("confirmed_at", datetime(2026, 9, 1, tzinfo=UTC))
            values.setdefault("last_digest_at", values["confirmed_at"])
        made = Subscriber.objects.create(**values)
        made.topics.set(list(topics))
        made.regions.set(list(regions))
        return made

    return make
