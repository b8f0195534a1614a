"""Benchmark: sending the sample issue to many subscribers, through local stand-ins.

Run from the repository root: `.venv/bin/python benchmarks/send.py [COUNT...]`
(default 10000 100000). Each count runs in a fresh process, so peak memory
(max RSS) is the send's own: SendGrid to a local HTTP server that answers 202
like SendGrid, half the subscribers English and half Burmese. With `--smtp`,
10,000 messages through a local aiosmtpd server instead.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SECRET = "benchmark-secret-not-for-production"


def run(count: int, smtp: bool) -> None:
    from sqlalchemy import insert

    from broadsheet.delivery.personalize import Signer
    from broadsheet.delivery.send import editions, send_issue
    from broadsheet.delivery.store import Subscriber, open_store
    from broadsheet.delivery.transports.sendgrid import SendGridTransport
    from broadsheet.delivery.transports.smtp import SMTPTransport
    from broadsheet.settings import find_project

    project = find_project(REPO)
    with tempfile.TemporaryDirectory() as folder:
        engine = open_store(f"sqlite:///{folder}/bench.db")
        for first in range(0, count, 10_000):  # in slices, so that setting up costs little memory
            with engine.begin() as connection:
                connection.execute(
                    insert(Subscriber),
                    [
                        {"email": f"r{n}@example.org", "email_key": f"r{n}@example.org", "name": f"Reader {n}", "locale": ("en", "my")[n % 2], "status": "active"}
                        for n in range(first, min(count, first + 10_000))
                    ],
                )
        issue, emails, _ = editions(project, REPO / "issues" / "2023-12-21.yaml")
        requests = [0]
        if smtp:
            from aiosmtpd.controller import Controller

            class Sink:
                async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
                    requests[0] += 1
                    return "250 OK"

            controller = Controller(Sink(), hostname="127.0.0.1", port=_free_port())
            controller.start()
            transport: object = SMTPTransport.from_url(f"smtp://127.0.0.1:{controller.port}")
        else:
            server = ThreadingHTTPServer(("127.0.0.1", 0), _sendgrid_stand_in(requests))
            threading.Thread(target=server.serve_forever, daemon=True).start()
            transport = SendGridTransport.from_environment(
                {"SENDGRID_API_KEY": "SG.benchmark", "BROADSHEET_SENDGRID_URL": f"http://127.0.0.1:{server.server_port}"}
            )
        start = time.perf_counter()
        progress = send_issue(project, issue, emails, engine, transport, Signer(SECRET))  # type: ignore[arg-type]
        elapsed = time.perf_counter() - start
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        kind = "SMTP messages" if smtp else "SendGrid requests"
        print(json.dumps({"subscribers": count, "sent": progress.sent, "failed": progress.failed, kind: requests[0], "seconds": round(elapsed, 2), "peak_rss_mb": round(peak, 1)}))


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _sendgrid_stand_in(requests: list[int]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            assert self.path == "/v3/mail/send" and len(body["personalizations"]) <= 1000
            requests[0] += 1
            self.send_response(202)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


def main() -> None:
    args = sys.argv[1:]
    if args and args[0] == "--one":
        run(int(args[1]), smtp=args[2] == "smtp")
        return
    if args == ["--smtp"]:
        plan = [(10_000, "smtp")]
    else:
        plan = [(int(a), "sendgrid") for a in args] or [(10_000, "sendgrid"), (100_000, "sendgrid")]
    for count, kind in plan:
        subprocess.run([sys.executable, __file__, "--one", str(count), kind], check=True)


if __name__ == "__main__":
    main()
