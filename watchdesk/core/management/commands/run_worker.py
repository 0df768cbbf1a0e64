from django.core.management.base import BaseCommand
from django.utils.crypto import get_random_string
from django_tasks.base import DEFAULT_TASK_BACKEND_ALIAS
from django_tasks_db.management.commands.db_worker import Worker

from watchdesk.core.scheduler import Ticker


class Command(BaseCommand):
    help = "Run the task worker and the scheduler tick that enqueues periodic jobs."

    def add_arguments(self, parser):
        parser.add_argument("--interval", type=float, default=1.0, help="Seconds between polls.")
        parser.add_argument("--tick", type=float, default=10.0, help="Seconds between scheduler ticks.")
        parser.add_argument("--no-scheduler", action="store_true", help="Run tasks only.")

    def handle(self, *args, interval, tick, no_scheduler, **options):
        # django-tasks-db's Worker without its command, so that logging follows settings.LOGGING.
        worker = Worker(
            queue_names=["*"],
            interval=interval,
            batch=False,
            backend_name=DEFAULT_TASK_BACKEND_ALIAS,
            startup_delay=True,
            max_tasks=None,
            worker_id=get_random_string(32),
            excluded_queue_names=[],
        )
        ticker = None if no_scheduler else Ticker(interval=tick)
        if ticker:
            ticker.start()
        # SIGINT/SIGTERM: the running task finishes, then the loop ends; a second signal aborts it.
        worker.configure_signals()
        try:
            worker.run()
        finally:
            if ticker:
                ticker.stop()
