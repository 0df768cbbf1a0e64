"""Where the post page's time goes: wall time inside chosen functions and SQL time by statement.

Timing wrappers (outermost call only, ``time.perf_counter``) are put around the functions in SPOTS for
100 requests, so there is no profiler overhead in the numbers; a database execute wrapper times every
statement by shape. With pyinstrument installed (optional, not a project dependency) a call tree is
written to bench/out/profile-post.txt and .html. Imported by run.py after Django is configured.
"""

import functools
import importlib
import re
import time
from collections import defaultdict
from contextlib import contextmanager, suppress

from django.db import connection

SPOTS = {  # label: "module:Class.function" or "module:function"; "  " marks a part of the row above
    "Page.route_for_request (site, tree walk, .specific)": "wagtail.models:Page.route_for_request",
    "  Site.find_for_request": "wagtail.models:Site.find_for_request",
    "database connect (expect 0: kept open)": "django.db.backends.base.base:BaseDatabaseWrapper.connect",
    "Page.get_view_restrictions (before_serve_page)": "wagtail.models:Page.get_view_restrictions",
    "StoryPost.get_context": "watchdesk.posts.models:StoryPost.get_context",
    "  StoryPost.get_neighbours": "watchdesk.posts.models:StoryPost.get_neighbours",
    "  StoryPost.json_ld": "watchdesk.posts.models:StoryPost.json_ld",
    "template rendering": "django.template.response:SimpleTemplateResponse.render",
    "  routing.index_urls": "watchdesk.posts.routing:index_urls",
    "database close (expect 0: kept open)": "django.db.backends.sqlite3.base:DatabaseWrapper.close",
    "(in rows above) SiteIdentity.for_request": "wagtail.contrib.settings.models:BaseSiteSetting.for_request",
    "(in rows above) SQL execute": "django.db.backends.utils:CursorWrapper.execute",
}


@contextmanager
def stopwatches(totals):
    """Add the wall time of each outermost call of the SPOTS functions to totals[label]."""
    saved, depth = [], defaultdict(int)
    for label, where in SPOTS.items():
        module, _, attribute = where.partition(":")
        owner, _, name = attribute.rpartition(".")
        owner = getattr(importlib.import_module(module), owner) if owner else importlib.import_module(module)
        owner = next(c for c in getattr(owner, "__mro__", [owner]) if name in vars(c))  # the definer
        raw = vars(owner)[name]
        func = raw.__func__ if isinstance(raw, staticmethod | classmethod) else raw

        def timed(*args, _func=func, _label=label, **kwargs):
            depth[_label] += 1
            began = time.perf_counter()
            try:
                return _func(*args, **kwargs)
            finally:
                depth[_label] -= 1
                if not depth[_label]:
                    totals[_label] += time.perf_counter() - began

        wrapper = functools.wraps(func)(timed)
        setattr(owner, name, type(raw)(wrapper) if isinstance(raw, staticmethod | classmethod) else wrapper)
        saved.append((owner, name, raw))
    try:
        yield totals
    finally:
        for owner, name, raw in saved:
            setattr(owner, name, raw)


def profile(get, paths, out):
    """``get(path)`` makes one request; returns (spots, statements) per request."""
    sql, totals = defaultdict(lambda: [0, 0.0]), defaultdict(float)

    def timed(execute, statement, params, many, context):
        began = time.perf_counter()
        try:
            return execute(statement, params, many, context)
        finally:
            shape = re.sub(r"^SELECT .*? FROM ", "SELECT ... FROM ", statement, flags=re.S)[:120]
            sql[shape][0] += 1
            sql[shape][1] += time.perf_counter() - began

    runs = paths[:100]
    with connection.execute_wrapper(timed):
        for path in runs:
            get(path)
    with stopwatches(totals):
        began = time.perf_counter()
        for path in runs:
            get(path)
        whole = time.perf_counter() - began
    spots = [("whole request (mean)", whole / len(runs) * 1000, 100.0)]
    spots += [(label, totals[label] / len(runs) * 1000, totals[label] / whole * 100) for label in SPOTS]
    queries = sorted(sql.items(), key=lambda kv: -kv[1][1])
    top_sql = [(n / len(runs), t / len(runs) * 1000, shape) for shape, (n, t) in queries]
    with suppress(ImportError):
        from pyinstrument import Profiler

        with Profiler(interval=0.0005) as tree:
            for path in runs:
                get(path)
        (out / "profile-post.txt").write_text(tree.output_text(unicode=False, color=False))
        (out / "profile-post.html").write_text(tree.output_html())
    return spots, top_sql
