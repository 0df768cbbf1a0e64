"""`watchdesk inbox`: the admin's inbox for terminals and scripts, same query, same order."""

import io
import json
import shutil

from django.core.management.base import BaseCommand, CommandError
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from watchdesk.wire import inbox


class Command(BaseCommand):
    help = "Print the inbox: stories by relevance with their topics, places, outlets, score parts and status."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="Print JSON for scripts.")
        parser.add_argument(
            "--status",
            default=inbox.OPEN,
            choices=inbox.STATUSES,
            help="open (default: new, reviewed, snooze over), all, or one status.",
        )
        parser.add_argument("--topic", help="Only stories under this topic (slug or name).")
        parser.add_argument("--region", help="Only stories in this place or inside it (code, slug or name).")
        parser.add_argument("--source", help="Only stories with an item from this source (name, URL or id).")
        parser.add_argument("--limit", type=int, default=30, help="At most this many (default: %(default)s).")

    def handle(self, *args, **options):
        if options["limit"] < 1:
            raise CommandError("--limit must be at least 1.")
        try:
            clusters = inbox.inbox_clusters(
                status=options["status"],
                topic=inbox.find_topic(options["topic"]) if options["topic"] else None,
                region=inbox.find_region(options["region"]) if options["region"] else None,
                source=inbox.find_source(options["source"]) if options["source"] else None,
            )
        except inbox.InboxError as error:
            raise CommandError(str(error)) from error
        total = clusters.count()
        rows = inbox.load_details(clusters[: options["limit"]])
        if options["json"]:
            document = {"clusters": [inbox.cluster_data(cluster) for cluster in rows], "count": total}
            self.stdout.write(json.dumps(document, indent=2, ensure_ascii=False))
            return
        self.stdout.write(self.table(rows, total), ending="")

    def table(self, rows, total):
        width = shutil.get_terminal_size((140, 24)).columns
        console = Console(file=io.StringIO(), width=width, force_terminal=self.stdout.isatty())
        if not rows:
            console.print("The inbox is empty.")
            return console.file.getvalue()
        table = Table(title=f"Inbox: {len(rows)} of {total}", title_justify="left", expand=False)
        table.add_column("Score", justify="right", no_wrap=True)
        table.add_column("Outlets", justify="right")
        table.add_column("Story", ratio=3)
        table.add_column("Topics", ratio=1)
        table.add_column("Places", ratio=1)
        table.add_column("Status", no_wrap=True)
        for cluster in rows:
            topics = ", ".join(f"{entry.topic.slug} {entry.score:.1f}" for entry in cluster.topic_list[:3])
            places = ", ".join(entry.region.label for entry in cluster.place_list[:3])
            # One part per line: the score column stays narrow and the titles keep the room.
            parts = "\n".join(
                f"{name} {value:.1f}" for name, value in numeric_parts(cluster.score_parts) if name != "total"
            )
            title = ("[bold red]BREAKING[/] " if cluster.breaking else "") + escape(cluster.title)
            table.add_row(
                f"{cluster.score:.1f}" + (f"\n[dim]{escape(parts)}[/]" if parts else ""),
                str(cluster.outlet_count),
                f"{title}\n[dim]#{cluster.pk}[/]",
                escape(topics),
                escape(places),
                cluster.status,
            )
        console.print(table)
        return console.file.getvalue()


def numeric_parts(parts):
    for name, value in (parts or {}).items():
        if isinstance(value, int | float) and not isinstance(value, bool):
            yield name, value
