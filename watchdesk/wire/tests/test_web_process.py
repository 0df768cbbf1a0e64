"""The web process only enqueues the wire's work: it must not carry the worker's heavy libraries
(article extraction, feed parsing, MinHash), which cost every web process about 60 MB and most of a
second at start."""

import json
import os
import subprocess
import sys

WORKER_ONLY = ["trafilatura", "feedparser", "datasketch", "numpy"]

LOAD_THE_SITE = """
import json, sys
import django
django.setup()
from django.urls import resolve
resolve("/")  # the URLconf, and with it every admin view the apps register
print(json.dumps(sorted(name for name in sys.argv[1:] if name in sys.modules)))
"""


def test_starting_the_site_loads_none_of_the_worker_only_libraries(tmp_path):
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "watchdesk.settings"}
    environment["WATCHDESK_VAR_DIR"] = str(tmp_path)
    result = subprocess.run(
        [sys.executable, "-c", LOAD_THE_SITE, *WORKER_ONLY],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
        check=True,
    )
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []
