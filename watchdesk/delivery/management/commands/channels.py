"""``watchdesk channels``: add, list, test and remove alert channels (Apprise URLs and signed webhooks).

URLs are checked against the network policy when added and are only ever printed masked; a signed
webhook's secret is printed once, when it is added.
"""

import io
import json

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from rich.console import Console
from rich.table import Table

from watchdesk.delivery import channel_sender, channels
from watchdesk.delivery.models import Channel
from watchdesk.taxonomy.models import Region, Topic


def render(renderable):
    buffer = io.StringIO()
    Console(file=buffer, width=140, force_terminal=False, color_system=None).print(renderable)
    return buffer.getvalue()


def find_channel(name):
    channel = Channel.objects.filter(name__iexact=name.strip()).first()
    if channel is None:
        raise CommandError(f"No channel is called {name!r}.")
    return channel


def scope_words(channel):
    if channel.everything:
        return "Everything"
    topics = ", ".join(topic.slug for topic in channel.topics.all())
    places = ", ".join(region.code for region in channel.regions.all())
    return " in ".join(filter(None, [topics, places])) or "Nothing chosen"


class Command(BaseCommand):
    help = "Manage alert channels: where posts and editor alerts are pushed (Slack, Teams, ntfy, webhooks)."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

        add = actions.add_parser("add", help="Add a channel (its URL is checked, not contacted).")
        add.add_argument("name", help="A unique name, e.g. 'County EOC Teams'.")
        add.add_argument(
            "url", help="An Apprise URL (slack://..., ntfys://..., json://...) or watchdesk+https://... "
            "for a signed webhook."
        )  # fmt: skip
        add.add_argument("--topic", action="append", default=[], metavar="SLUG", help="Repeat for several.")
        add.add_argument(
            "--region", action="append", default=[], metavar="CODE", help="e.g. US-CA; repeatable."
        )
        add.add_argument("--cadence", choices=Channel.Cadence.values, default=Channel.Cadence.INSTANT)
        add.add_argument("--purpose", choices=Channel.Purpose.values, default=Channel.Purpose.READERS)

        listing = actions.add_parser("list", help="List channels (URLs masked) and their last delivery.")
        listing.add_argument(
            "--json", action="store_true", dest="as_json", help="Print JSON instead of a table."
        )

        actions.add_parser("test", help="Send a test message now and say what happened.").add_argument("name")
        actions.add_parser("remove", help="Remove a channel and its delivery history.").add_argument("name")

    def handle(self, *args, action, **options):
        getattr(self, f"handle_{action}")(**options)

    def handle_add(self, *, name, url, topic, region, cadence, purpose, **options):
        name = name.strip()
        if not name:
            raise CommandError("Give the channel a name.")
        if Channel.objects.filter(name__iexact=name).exists():
            raise CommandError(f"A channel is already called {name!r}.")
        kind, url = channels.split_kind(url)
        problem = channels.url_problem(kind, url)
        if problem:
            raise CommandError(f"Cannot add {channels.mask_url(url)}: {problem}")
        topics = list(Topic.objects.filter(slug__in=topic))
        regions = list(Region.objects.filter(code__in=region))
        missing = sorted(set(topic) - {t.slug for t in topics}) + sorted(
            set(region) - {r.code for r in regions}
        )
        if missing:
            raise CommandError(f"No topic or region is called {', '.join(missing)}.")
        with transaction.atomic():
            channel = Channel.objects.create(
                name=name,
                kind=kind,
                url=url,
                secret=channels.new_secret() if kind == Channel.Kind.WEBHOOK else "",
                purpose=purpose,
                cadence=cadence,
                everything=not (topics or regions),
            )
            channel.topics.set(topics)
            channel.regions.set(regions)
        self.stdout.write(f"Added channel {channel.name}: {channels.mask_url(url)} ({scope_words(channel)}).")
        if channel.secret:
            self.stdout.write(
                f"Signing secret (shown only now; keep it in the receiver's configuration): {channel.secret}"
            )

    def handle_list(self, *, as_json=False, **options):
        rows = []
        for channel in Channel.objects.select_related("owner").prefetch_related("topics", "regions"):
            last = channel.deliveries.order_by("-created_at").first()
            rows.append(
                {
                    "name": channel.name,
                    "kind": channel.kind,
                    "url": channels.mask_url(channel.url),
                    "purpose": channel.purpose,
                    "cadence": channel.cadence,
                    "scope": scope_words(channel),
                    "paused": channel.paused,
                    # An editor's own channel (added under Account > Notifications): whose.
                    "owner": channel.owner.get_username() if channel.owner else None,
                    "last_status": last.status if last else None,
                    "last_at": last.created_at.isoformat() if last else None,
                    "last_error": last.error if last else "",
                }
            )
        if as_json:
            self.stdout.write(json.dumps(rows, indent=2))
            return
        if not rows:
            self.stdout.write("No channels yet: add one with `watchdesk channels add NAME URL`.")
            return
        table = Table("Name", "URL", "Sends", "Scope", "Owner", "Last delivery")
        for row in rows:
            last = f"{row['last_status']} {row['last_at'][:16]}" if row["last_status"] else "none yet"
            sends = f"{row['purpose']}, {row['cadence']}" + (", paused" if row["paused"] else "")
            table.add_row(row["name"], row["url"], sends, row["scope"], row["owner"] or "the desk", last)
        self.stdout.write(render(table))

    def handle_test(self, *, name, **options):
        row = channel_sender.send_test(find_channel(name))
        if row.status != row.Status.SENT:
            raise CommandError(f"The test was not delivered: {row.error or row.status}")
        self.stdout.write(f"Test message delivered to {row.channel.name}.")

    def handle_remove(self, *, name, **options):
        channel = find_channel(name)
        channel.delete()
        self.stdout.write(f"Removed channel {channel.name}.")
