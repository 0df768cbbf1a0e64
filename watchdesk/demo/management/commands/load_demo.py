from django.core.management.base import BaseCommand

from watchdesk.demo.loader import load_demo


class Command(BaseCommand):
    help = (
        "Load the demo site's posts, topics and regions (unless posts exist) and the demo wire's sources "
        "with their items (unless sources exist)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="Load both even if posts or sources exist.")

    def handle(self, *args, force, **options):
        self.stdout.write(str(load_demo(force=force)))
