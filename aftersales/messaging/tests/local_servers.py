"""Real local servers the outbox tests deliver to: a webhook receiver (HTTP) and an SMTP sink (aiosmtpd)."""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aftersales.messaging.adapters.network import SIGNATURE_HEADER, verify


@dataclass
class Delivery:
    key: str
    verified: bool
    payload: dict[str, Any]
    status: int


@dataclass
class WebhookReceiver:
    """Answers ``status`` to every POST after ``delay`` seconds; records key, signature check and payload.

    ``serial=True`` handles one request at a time (a slow provider with one lane), so a batch takes N × delay.
    """

    secret: str = "whsec-test"
    status: int = 200
    delay: float = 0.0
    serial: bool = False
    deliveries: list[Delivery] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._serial = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed-ACK stall

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if receiver.serial:
                    with receiver._serial:
                        time.sleep(receiver.delay)
                elif receiver.delay:
                    time.sleep(receiver.delay)
                status = receiver.status
                delivery = Delivery(
                    key=self.headers.get("Idempotency-Key", ""),
                    verified=verify(receiver.secret, self.headers.get(SIGNATURE_HEADER, ""), body),
                    payload=json.loads(body or b"{}"),
                    status=status,
                )
                with receiver._lock:
                    receiver.deliveries.append(delivery)
                answer = b"{}"
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.send_header("X-Request-Id", f"rcv-{len(receiver.deliveries)}")
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 256  # listen() backlog (the default 5 refuses bursts of parallel senders)

        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def accepted_keys(self) -> list[str]:
        with self._lock:
            return [d.key for d in self.deliveries if d.status < 300]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpSink:
    """aiosmtpd on 127.0.0.1: keeps every envelope it receives."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.envelopes: list[Any] = []
        sink = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                sink.envelopes.append(envelope)
                return "250 Message accepted for delivery"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def close(self) -> None:
        self.controller.stop()
