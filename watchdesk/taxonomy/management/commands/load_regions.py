from django.core.management.base import BaseCommand

from watchdesk.taxonomy.gazetteer import load_gazetteer


class Command(BaseCommand):
    help = "Create the region taxonomy from the bundled gazetteer (safe to re-run)."

    def add_arguments(self, parser):
        parser.add_argument("--no-counties", action="store_true", help="Skip US counties.")
        parser.add_argument("--no-cities", action="store_true", help="Skip cities.")
        parser.add_argument(
            "--min-population",
            type=int,
            default=100_000,
            help="Smallest city loaded outside the US (default: %(default)s).",
        )
        parser.add_argument(
            "--us-min-population",
            type=int,
            default=15_000,
            help="Smallest US city loaded (default: %(default)s).",
        )

    def handle(self, *args, **options):
        summary = load_gazetteer(
            counties=not options["no_counties"],
            cities=not options["no_cities"],
            min_population=options["min_population"],
            us_min_population=options["us_min_population"],
        )
        self.stdout.write(str(summary))
