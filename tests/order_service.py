"""A brand's order system on loopback for tests: a real HTTP server whose answers each test sets per order number."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote


@dataclass
class Answer:
    """What the service answers for one order number: a status code, a body, after a delay."""

    status: int = 200
    body: bytes = b""
    delay: float = 0.0

    @classmethod
    def order(cls, **fields: object) -> "Answer":
        return cls(200, json.dumps(fields, ensure_ascii=False).encode())


@dataclass
class Seen:
    """One request the service received."""

    order_no: str
    authorization: str | None
    accept: str | None


@dataclass
class OrderService:
    """`GET /api/orders/{order_no}`: the answer set in `answers` (else 404); every request is recorded."""

    answers: dict[str, Answer] = field(default_factory=dict)
    requests: list[Seen] = field(default_factory=list)
    in_flight: dict[str, int] = field(default_factory=dict)  # per order number
    most_in_flight: dict[str, int] = field(default_factory=dict)  # per order number, the most at one time

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # http.server's name
                order_no = unquote(self.path.rsplit("/", 1)[-1])
                with service._lock:
                    service.requests.append(Seen(order_no, self.headers.get("Authorization"), self.headers.get("Accept")))
                    service.in_flight[order_no] = service.in_flight.get(order_no, 0) + 1
                    service.most_in_flight[order_no] = max(service.most_in_flight.get(order_no, 0), service.in_flight[order_no])
                try:
                    answer = service.answers.get(order_no, Answer(404, b'{"error": "not found"}'))
                    time.sleep(answer.delay)
                    self.send_response(answer.status)
                    self.send_header("Content-Type", "application/json; charset=utf-8")
                    self.send_header("Content-Length", str(len(answer.body)))
                    self.end_headers()
                    self.wfile.write(answer.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (its timeout)
                finally:
                    with service._lock:
                        service.in_flight[order_no] -= 1

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """The DRAFTBOT_ORDERS_URL of this service."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/api/orders/{{order_no}}"

    def asked(self, order_no: str) -> int:
        """How many requests asked for this order."""
        return sum(1 for seen in self.requests if seen.order_no == order_no)

    def __enter__(self) -> "OrderService":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
