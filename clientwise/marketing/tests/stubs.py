"""Local delivery servers the tests start (nothing leaves the machine): an HTTP SMS gateway stub that checks the
request signature and answers a repeated OutId with its first result, like the gateway the adapter expects; and an
aiosmtpd SMTP server that keeps what it receives."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from clientwise.marketing.delivery import sign


class SmsStub:
    """A gateway at http://127.0.0.1:<port>/sms. `deliveries` holds one entry per distinct OutId it accepted,
    `calls` every request; numbers in `invalid` are refused with isv.MOBILE_NUMBER_ILLEGAL."""

    def __init__(self, secret: str, *, invalid: frozenset[str] = frozenset()):
        self.secret = secret
        self.invalid = invalid
        self.deliveries: dict[str, dict] = {}
        self.calls: list[dict] = []
        self.bad_signatures = 0
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                expected = sign(stub.secret, "POST", self.path, self.headers.get("X-CW-Timestamp", ""),
                                self.headers.get("X-CW-Nonce", ""), body)
                if expected != self.headers.get("X-CW-Signature"):
                    stub.bad_signatures += 1
                    return self._answer(403, {"Code": "SignatureDoesNotMatch"})
                data = json.loads(body)
                stub.calls.append(data)
                if data["PhoneNumbers"] in stub.invalid:
                    return self._answer(200, {"Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": "invalid number"})
                first = stub.deliveries.setdefault(data["OutId"], {**data, "BizId": f"biz-{len(stub.deliveries)}"})
                return self._answer(200, {"Code": "OK", "BizId": first["BizId"]})

            def _answer(self, status, payload):
                raw = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/sms"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


class SmtpStub:
    """aiosmtpd on a free local port; `messages` are the received e-mails (email.message.Message)."""

    def __init__(self):
        import socket

        from aiosmtpd.controller import Controller

        stub = self
        self.messages: list = []

        class Keep:
            async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
                from email import message_from_bytes

                stub.messages.append(message_from_bytes(envelope.content))
                return "250 OK"

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.controller = Controller(Keep(), hostname="127.0.0.1", port=self.port)

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.controller.stop()
