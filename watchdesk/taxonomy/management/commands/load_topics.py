import json

from django.core.management.base import BaseCommand, CommandError

from watchdesk.taxonomy.topics_loader import load_default_topics


class Command(BaseCommand):
    help = (
        "Create the default topics for first responders and fill in empty rules (safe to re-run; "
        "names, descriptions and rules an editor wrote are kept)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--reset",
            action="store_true",
            help="Put back the default rules and thresholds, replacing edited ones (names are kept).",
        )
        parser.add_argument("--file", help="A topics file in the format of taxonomy/default_topics.json.")
        parser.add_argument("--json", action="store_true", help="Print the summary as JSON.")

    def handle(self, *args, **options):
        try:
            summary = load_default_topics(reset=options["reset"], path=options["file"])
        except ValueError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(json.dumps(summary.as_dict()) if options["json"] else str(summary))
