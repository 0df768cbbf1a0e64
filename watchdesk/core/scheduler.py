"""The scheduler tick: enqueue periodic jobs on time, once per period across all workers.

Jobs are listed in settings.PERIODIC_JOBS as ``name -> (task path, seconds)``. Every worker runs a tick
thread; ``PeriodicJob.claim`` makes sure only one of them enqueues each run, and the queue then hands the
task to whichever worker is free.
"""

import logging
import threading

from django.conf import settings
from django.db import close_old_connections
from django.utils.module_loading import import_string

from watchdesk.core.models import PeriodicJob

logger = logging.getLogger(__name__)


def tick(now=None):
    """Enqueue every job that is due. Returns the names of the jobs enqueued."""
    enqueued = []
    for name, (task_path, every) in settings.PERIODIC_JOBS.items():
        if PeriodicJob.claim(name, every, now=now):
            import_string(task_path).enqueue()
            enqueued.append(name)
    return enqueued


class Ticker(threading.Thread):
    def __init__(self, interval=10.0):
        super().__init__(name="watchdesk-scheduler", daemon=True)
        self.interval = interval
        self.stopped = threading.Event()

    def run(self):
        while not self.stopped.is_set():
            try:
                for name in tick():
                    logger.info("Scheduler enqueued %s", name)
            except Exception:
                # A locked or briefly unreachable database must not kill the worker; try next tick.
                logger.exception("Scheduler tick failed")
            finally:
                close_old_connections()
            self.stopped.wait(self.interval)

    def stop(self):
        self.stopped.set()
