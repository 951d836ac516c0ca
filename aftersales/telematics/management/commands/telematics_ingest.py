"""``aftersales telematics-ingest``: take the connected cars' messages from the MQTT broker (see telematics/mqtt.py).

Run several (``--worker 1``, ``--worker 2`` …): the shared subscription splits the messages between them. Each needs a
client id of its own that stays the same across restarts (its persistent session holds what it has not acknowledged).
"""

from __future__ import annotations

import logging
import socket
from typing import Any

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Ingest telematics messages from the MQTT broker (shared subscription, QoS 1, ack after commit)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--worker", default="1", help="this process's number; the client id is built from it")
        parser.add_argument("--client-id", default="", help="a fixed MQTT client id (default: aftersales-ingest-<host>-<worker>)")
        parser.add_argument("--host", default=None)
        parser.add_argument("--port", type=int, default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        from aftersales.telematics.mqtt import Ingester, install_signal_handlers

        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
        client_id = options["client_id"] or f"aftersales-ingest-{socket.gethostname()}-{options['worker']}"
        ingester = Ingester(client_id=client_id, host=options["host"], port=options["port"])
        install_signal_handlers(ingester)
        self.stdout.write(f"telematics ingester {client_id}: listening on {ingester.host}:{ingester.port}", ending="\n")
        self.stdout.flush()
        counts = ingester.run()
        self.stdout.write(f"telematics ingester {client_id} stopped: {dict(counts)}")
