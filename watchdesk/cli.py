"""The ``watchdesk`` command: Django's management commands plus three of its own.

watchdesk run       development: migrate, load the demo once, create an administrator, then run the
                    web server and the worker together until Ctrl-C stops both; the worker polls the
                    demo sources from this server's /demo/feeds/
watchdesk serve     production web server (gunicorn); extra arguments go to gunicorn
watchdesk worker    task worker plus the scheduler tick for periodic jobs
watchdesk <other>   any Django management command (migrate, createsuperuser, check, ...)
"""

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time

SETTINGS = "watchdesk.settings"


def _django():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", SETTINGS)
    import django

    django.setup()


def manage(argv):
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", SETTINGS)
    from django.core.management import execute_from_command_line

    execute_from_command_line(["watchdesk", *argv])
    return 0


def prepare(*, demo=True, stdout=sys.stdout):
    """Everything `run` does before it starts processes. Safe to repeat."""
    _django()
    from django.core.management import call_command

    # With the checks, so a database from an older checkout is named rather than half-migrated.
    call_command("migrate", interactive=False, verbosity=0, skip_checks=False)
    call_command("setup_site", stdout=stdout)
    call_command("load_topics", stdout=stdout)
    if demo:
        call_command("load_demo", stdout=stdout)
    call_command("ensure_admin", stdout=stdout)


def _signal_group(process, signum):
    # Each child leads its own process group: the signal reaches the processes it started too (the
    # autoreloader's server), which would otherwise outlive it and keep the port.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signum)


def _stop(processes, timeout=15):
    # SIGTERM rather than SIGINT: a process started in the background inherits SIGINT ignored, and
    # runserver then never stops; the worker treats both alike (finish the task, then exit).
    for process in processes:
        _signal_group(process, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for process in processes:
        try:
            process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _signal_group(process, signal.SIGKILL)
            process.wait()
        # The group may outlive its leader for a moment: make sure nothing of it is left.
        _signal_group(process, signal.SIGKILL)


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _split_addr(addr):
    """runserver's addrport: "8000", "0.0.0.0:8000", "[::1]:8000" -> (host, port)."""
    host, _, port = addr.rpartition(":")
    return host.strip("[]") or "127.0.0.1", port


def demo_environment(addr, environ):
    """What `run` adds to its environment so that the demo sources, served by this very site, resolve to
    it and may be fetched: the guarded fetcher refuses loopback addresses and other ports by default.
    Whatever the environment already sets is left alone."""
    host, port = _split_addr(addr)
    if host in {"0.0.0.0", "::", "localhost"}:  # noqa: S104  an address to fetch from, not to bind
        host = "127.0.0.1"
    url_host = f"[{host}]" if ":" in host else host
    networks = ["127.0.0.0/8", "::1/128"]
    if host not in {"127.0.0.1", "::1"}:
        networks.append(f"{host}/128" if ":" in host else f"{host}/32")
    wanted = {
        "SITE_URL": f"http://{url_host}:{port}",
        "WATCHDESK_FETCH_ALLOWED_NETWORKS": ",".join(networks),
        "WATCHDESK_FETCH_ALLOWED_PORTS": port,
    }
    return {name: value for name, value in wanted.items() if not environ.get(name, "").strip()}


def run(argv):
    parser = argparse.ArgumentParser(prog="watchdesk run", description="Run the development site.")
    parser.add_argument("--addr", default="127.0.0.1:8000", help="host:port (default %(default)s)")
    parser.add_argument("--no-demo", action="store_true", help="Do not load demo content.")
    parser.add_argument("--no-reload", action="store_true", help="Do not restart on code changes.")
    args = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", SETTINGS)
    # Keep the terminal for what matters in development: requests, warnings and errors.
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    opened = {}
    if not args.no_demo:
        opened = demo_environment(args.addr, os.environ)
        os.environ.update(opened)  # before Django reads its settings, and inherited by both children
    prepare(demo=not args.no_demo)
    from django.conf import settings

    here = [sys.executable, "-m", "watchdesk.cli"]
    web = [*here, "runserver", args.addr, "--skip-checks"]
    if args.no_reload:
        web.append("--noreload")
    processes = [
        subprocess.Popen(web, process_group=0),
        subprocess.Popen([*here, "worker", "--tick", "5"], process_group=0),
    ]
    print(f"\nWatchdesk is running at http://{args.addr}/ (admin: http://{args.addr}/admin/)")
    outbox = getattr(settings, "EMAIL_FILE_PATH", None)
    print(f"E-mail is written to {outbox}/" if outbox else f"E-mail goes to {settings.EMAIL_HOST}.")
    if "WATCHDESK_FETCH_ALLOWED_NETWORKS" in opened or "WATCHDESK_FETCH_ALLOWED_PORTS" in opened:
        networks = os.environ.get("WATCHDESK_FETCH_ALLOWED_NETWORKS", "")
        ports = os.environ.get("WATCHDESK_FETCH_ALLOWED_PORTS", "")
        print(
            f"The fetcher is opened to the local demo feeds at {settings.SITE_URL}/demo/feeds/ "
            f"({networks}; port {ports})."
        )
    print("Press Ctrl-C to stop the web server and the worker.\n", flush=True)

    # Ctrl-C at a terminal and SIGTERM (a service manager) both end up in _stop, which signals each
    # child's whole process group.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        while all(process.poll() is None for process in processes):
            time.sleep(0.5)
        failed = [p for p in processes if p.returncode]
        print("A process stopped; stopping the other.", file=sys.stderr)
        return 1 if failed else 0
    except KeyboardInterrupt:
        return 0
    finally:
        _stop(processes)


def serve(argv):
    """Replace this process with gunicorn, so that the service manager signals it directly."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", SETTINGS)
    # Loopback unless told otherwise: gunicorn's sync workers belong behind a buffering proxy.
    bind = os.environ.get("BIND", f"127.0.0.1:{os.environ.get('PORT', '8000')}")
    workers = os.environ.get("WEB_CONCURRENCY", str(2 * (os.cpu_count() or 1) + 1))
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "watchdesk.wsgi",
        "--bind",
        bind,
        "--workers",
        workers,
        "--access-logfile",
        "-",
        "--forwarded-allow-ips",
        os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1"),
        *argv,
    ]
    os.execv(sys.executable, command)  # noqa: S606  a fixed argument list, no shell


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    command = argv[0] if argv else "help"
    if command == "run":
        return run(argv[1:])
    if command == "serve":
        return serve(argv[1:])
    if command == "worker":
        return manage(["run_worker", *argv[1:]])
    return manage(argv)


if __name__ == "__main__":
    sys.exit(main())
