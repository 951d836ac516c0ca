"""The ``aftersales`` console command.

- ``aftersales run``: prepare (migrate, translations, static files, demo data once) and start the web server
  (gunicorn) and the background worker (Celery with its beat) until Ctrl-C. ``aftersales run --no-demo`` (or
  AFTERSALES_DEMO=0) loads no demo data.
- ``aftersales setup``: create your dealer group, its first store and its first administrator (prompts, flags or
  AFTERSALES_SETUP_* variables); the way a shop starts for real.
- ``aftersales worker`` / ``aftersales beat``: Celery worker / scheduler for production deployments.
- ``aftersales telematics-ingest`` / ``telematics-simulate`` / ``telematics-prune``: the connected cars' MQTT
  ingester, the demo simulator, the readings retention (aftersales/telematics).
- ``aftersales rotate-encryption-key``: a new key for the secrets stored encrypted (docs/security.md);
  ``aftersales backup-key``: a key pair for encrypted backups.
- anything else is a Django management command (``aftersales migrate``, ``aftersales createsuperuser`` ...).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time


def _django(argv: list[str]) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aftersales.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["aftersales", *argv])


def _celery(argv: list[str]) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aftersales.settings")
    return subprocess.call([sys.executable, "-m", "celery", "-A", "aftersales", *argv])


def prepare(*, demo: bool = True) -> None:
    _django(["migrate", "--noinput", "-v", "0"])
    _django(["compile_translations"])
    _django(["collectstatic", "--noinput", "-v", "0"])
    if demo:
        _django(["load_demo"])
    elif not _has_dealer_group():
        print(
            "\n  No dealer group yet. Create yours, its first store and its first administrator with:\n"
            "      aftersales setup\n",
            flush=True,
        )


def _has_dealer_group() -> bool:
    from aftersales.stores.models import DealerGroup

    return DealerGroup.objects.exists()


def run(argv: list[str]) -> int:
    port = os.environ.get("PORT", "8000")
    host = os.environ.get("HOST", "127.0.0.1")
    shown = "localhost" if host in ("127.0.0.1", "0.0.0.0") else host  # noqa: S104
    # links in messages default to the address this run serves on (the web process and the worker inherit it)
    if not os.environ.get("AFTERSALES_PUBLIC_URL"):
        os.environ["AFTERSALES_PUBLIC_URL"] = f"http://{shown}:{port}"
        if os.environ.get("AFTERSALES_DEBUG") != "1":
            print(
                f"  Warning: AFTERSALES_PUBLIC_URL is not set; links in customer messages use http://{shown}:{port},\n"
                "  which customers' phones cannot open. Set it to the address customers reach this site at.",
                file=sys.stderr, flush=True,
            )
    demo = os.environ.get("AFTERSALES_DEMO", "1") == "1" and "--no-demo" not in argv
    prepare(demo=demo)
    from django.conf import settings

    workers = os.environ.get("WEB_CONCURRENCY", "2")
    web = subprocess.Popen([
        sys.executable, "-m", "gunicorn", "aftersales.wsgi:application", "--bind", f"{host}:{port}",
        "--workers", workers, "--threads", "4", "--access-logfile", "-", "--graceful-timeout", "5",
    ])
    worker = subprocess.Popen([
        sys.executable, "-m", "celery", "-A", "aftersales", "worker", "--beat", "--loglevel", "INFO",
        "--concurrency", "2", "--schedule", str(settings.CELERY_BEAT_SCHEDULE_FILENAME),
    ])
    shown_host = "localhost" if host in ("127.0.0.1", "0.0.0.0") else host  # noqa: S104
    from aftersales.common.demo_login import demo_marker

    logins = (
        "  Demo logins (password demo1234, from this computer only): admin (group admin), manager, advisor, tech,\n"
        "  foreman, qc, parts, cashier, callcentre (store gz); manager.sz, advisor.sz ... (store sz)\n"
        "  To start for real: aftersales setup, then aftersales run --no-demo.\n"
        if demo_marker().exists() else ""
    )
    print(
        f"\n  Aftersales is running at http://{shown_host}:{port}/   (API docs: http://{shown_host}:{port}/api/docs)\n"
        f"  Data directory: {settings.DATA_DIR}\n"
        f"{logins}"
        "  Press Ctrl-C to stop.\n",
        flush=True,
    )
    children = [web, worker]

    def stop(signum: int, frame: object) -> None:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
    finally:
        stop(signal.SIGTERM, None)
        deadline = time.monotonic() + 15
        for child in children:
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = argv[0] if argv else "help"
    if command == "run":
        return run(argv[1:])
    if command == "prepare":
        prepare(demo="--no-demo" not in argv)
        return 0
    if command in ("worker", "beat"):
        return _celery([command, *argv[1:]])
    if command == "setup":  # the tables must exist first
        _django(["migrate", "--noinput", "-v", "0"])
    if command == "import-parts":  # ``aftersales import-parts FILE [--apply]``
        argv[0] = "import_parts"
    if command == "import-history":  # ``aftersales import-history FILE [--apply]``
        argv[0] = "import_history"
    if command in ("telematics-ingest", "telematics-simulate", "telematics-prune", "rotate-encryption-key", "backup-key"):
        argv[0] = command.replace("-", "_")
    _django(argv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
