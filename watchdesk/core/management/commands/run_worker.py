from django.core.management import call_command
from django.core.management.base import BaseCommand

from watchdesk.core.scheduler import Ticker


class Command(BaseCommand):
    help = "Run the task worker and the scheduler tick that enqueues periodic jobs."

    def add_arguments(self, parser):
        parser.add_argument("--interval", type=float, default=1.0, help="Seconds between polls.")
        parser.add_argument("--tick", type=float, default=10.0, help="Seconds between scheduler ticks.")
        parser.add_argument("--no-scheduler", action="store_true", help="Run tasks only.")

    def handle(self, *args, interval, tick, no_scheduler, **options):
        ticker = None
        if not no_scheduler:
            ticker = Ticker(interval=tick)
            ticker.start()
        try:
            # db_worker installs SIGINT/SIGTERM handlers: the running task finishes, then it exits.
            call_command(
                "db_worker",
                reload=False,
                interval=interval,
                queue_name="*",
                verbosity=options["verbosity"],
            )
        finally:
            if ticker:
                ticker.stop()
