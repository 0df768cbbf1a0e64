from django.core.management.base import BaseCommand

from watchdesk.demo.loader import load_demo


class Command(BaseCommand):
    help = "Load the demo site's posts, topics and regions, unless posts already exist."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="Load even if posts exist.")

    def handle(self, *args, force, **options):
        self.stdout.write(str(load_demo(force=force)))
