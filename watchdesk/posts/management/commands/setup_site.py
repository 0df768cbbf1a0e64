from django.core.management.base import BaseCommand

from watchdesk.posts.setup import setup_site


class Command(BaseCommand):
    help = "Create the home page, the index pages and the site record (safe to re-run)."

    def handle(self, *args, **options):
        created = setup_site()
        self.stdout.write(f"Site set up: created {', '.join(created)}." if created else "Site ready.")
