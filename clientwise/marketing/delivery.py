"""Delivery providers behind one interface: `send(batch) -> results`, one result per outgoing message, in order.

- `SmtpEmail`: Django's SMTP mail backend (EMAIL_HOST/PORT/USER/PASSWORD/TLS); the Message-ID carries the
  idempotency key. SMTP cannot be asked "did you already take this one?", so it is *not* idempotent: the sender
  commits each e-mail's outcome on its own and never resends one whose outcome a killed run left unknown.
- `HttpGateway`: an HTTP SMS (or WeChat template-message) gateway shaped like the Chinese cloud SMS APIs
  (Aliyun SendSms: PhoneNumbers, SignName, OutId; Tencent SendSms: PhoneNumberSet, SessionContext) — one signed
  JSON POST per message. The idempotency key travels as `OutId`; the gateway must answer a repeated OutId with its
  first result (the suite's stub does; a relay in front of a cloud API that does not can keep that table), so a
  resumed run may ask again safely. Requests are signed with HMAC-SHA256 over method, path, timestamp, nonce and
  the body's SHA-256 (headers X-CW-Key-Id, X-CW-Timestamp, X-CW-Nonce, X-CW-Signature).
- `FileAdapter`: one CSV per campaign and channel under MARKETING_FILE_DIR for call centres and print shops; a
  key already in the file is not written again.
- `CallTasks`: a call list becomes tasks for the customers' owners through sales.services.plan_calls.

Every adapter reports a permanent refusal (a number the gateway calls invalid) apart from a passing failure.
"""

from __future__ import annotations

import base64
import contextlib
import csv
import hashlib
import hmac
import json
import secrets
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMessage, get_connection

from clientwise.core.spreadsheet import neutralize
from clientwise.sales.services import plan_calls


@dataclass
class Outgoing:
    key: str  # the idempotency key
    campaign_id: int
    campaign_name: str
    customer_id: int
    channel: str
    address: str
    subject: str
    body: str
    owner_id: int | None = None
    customer_name: str = ""


@dataclass
class Result:
    ok: bool
    provider_id: str = ""
    error: str = ""
    permanent: bool = False  # the address itself was refused (invalid number, unknown recipient)


class Provider:
    name = ""
    idempotent = True  # may the same key be sent again after an interrupted run?

    def send(self, batch: list[Outgoing]) -> list[Result]:  # pragma: no cover - interface
        raise NotImplementedError


class SmtpEmail(Provider):
    name = "smtp"
    idempotent = False

    def send(self, batch: list[Outgoing]) -> list[Result]:
        results = []
        connection = get_connection("django.core.mail.backends.smtp.EmailBackend", fail_silently=False)
        try:
            connection.open()
            for m in batch:
                msg = EmailMessage(m.subject or m.campaign_name, m.body, settings.DEFAULT_FROM_EMAIL, [m.address],
                                   connection=connection,
                                   headers={"Message-ID": f"<{m.key}@clientwise>", "X-Clientwise-Key": m.key})
                try:
                    msg.send()
                    results.append(Result(True, provider_id=f"<{m.key}@clientwise>"))
                except Exception as exc:  # noqa: BLE001 - smtplib raises many kinds; each is this message's outcome
                    refused = exc.__class__.__name__ in ("SMTPRecipientsRefused",)
                    results.append(Result(False, error=str(exc)[:300], permanent=refused))
        except OSError as exc:
            results += [Result(False, error=f"SMTP: {exc}"[:300]) for _m in batch[len(results):]]
        finally:
            with contextlib.suppress(OSError):  # closing a connection that failed
                connection.close()
        return results


def sign(secret: str, method: str, path: str, timestamp: str, nonce: str, body: bytes) -> str:
    """The request signature: base64(HMAC-SHA256(secret, METHOD\\npath\\ntimestamp\\nnonce\\nsha256hex(body)))."""
    text = "\n".join([method.upper(), path, timestamp, nonce, hashlib.sha256(body).hexdigest()])
    return base64.b64encode(hmac.new(secret.encode(), text.encode(), hashlib.sha256).digest()).decode()


class HttpGateway(Provider):
    """One signed JSON POST per message to a gateway URL (SMS or WeChat template messages)."""

    idempotent = True

    def __init__(self, *, name: str, url: str, key_id: str, secret: str, payload, timeout: float = 10.0):
        self.name, self.url, self.key_id, self.secret = name, url, key_id, secret
        self.payload = payload
        self.timeout = timeout

    def _post(self, data: dict) -> tuple[int, dict]:
        body = json.dumps(data, ensure_ascii=False).encode()
        ts, nonce = str(int(time.time())), secrets.token_hex(8)
        path = urlsplit(self.url).path or "/"
        request = urllib.request.Request(self.url, data=body, method="POST", headers={
            "Content-Type": "application/json; charset=utf-8", "X-CW-Key-Id": self.key_id, "X-CW-Timestamp": ts,
            "X-CW-Nonce": nonce, "X-CW-Signature": sign(self.secret, "POST", path, ts, nonce, body)})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 - configured URL
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            try:
                return exc.code, json.loads(exc.read() or b"{}")
            except ValueError:
                return exc.code, {}
        except ValueError:
            return 502, {"Message": "unreadable answer"}

    def send(self, batch: list[Outgoing]) -> list[Result]:
        results = []
        for m in batch:
            try:
                status, answer = self._post(self.payload(m))
            except OSError as exc:
                results.append(Result(False, error=f"{self.name}: {exc}"[:300]))
                continue
            code = str(answer.get("Code", ""))
            if status == 200 and code == "OK":
                results.append(Result(True, provider_id=str(answer.get("BizId") or "")[:100]))
            else:
                results.append(Result(False, error=f"{status} {code} {answer.get('Message', '')}".strip()[:300],
                                      permanent=code.startswith("isv.") or status in (400, 422)))
        return results


def _sms_payload(m: Outgoing) -> dict:
    return {"PhoneNumbers": m.address, "SignName": settings.MARKETING_SMS_SIGN_NAME, "Content": m.body,
            "OutId": m.key}


def _wechat_payload(m: Outgoing) -> dict:
    return {"touser": m.address, "template_id": settings.MARKETING_WECHAT_TEMPLATE_ID, "client_msg_id": m.key,
            "OutId": m.key, "data": {"first": {"value": m.subject or m.campaign_name}, "remark": {"value": m.body}}}


class FileAdapter(Provider):
    """Rows for a call centre or a print shop: `<dir>/campaign-<id>-<channel>.csv` (UTF-8 with BOM)."""

    name = "file"
    idempotent = True
    COLUMNS = ("key", "customer_id", "customer", "address", "subject", "body")

    def __init__(self, directory: Path | None = None):
        self.directory = Path(directory or settings.MARKETING_FILE_DIR)

    def path_for(self, campaign_id: int, channel: str) -> Path:
        return self.directory / f"campaign-{campaign_id}-{channel}.csv"

    def send(self, batch: list[Outgoing]) -> list[Result]:
        if not batch:
            return []

        path = self.path_for(batch[0].campaign_id, batch[0].channel)
        path.parent.mkdir(parents=True, exist_ok=True)
        seen = set()
        if path.exists():
            with open(path, encoding="utf-8-sig", newline="") as f:
                seen = {row["key"] for row in csv.DictReader(f)}
        new = not path.exists()
        with open(path, "a", encoding="utf-8-sig" if new else "utf-8", newline="") as f:
            writer = csv.writer(f)
            if new:
                writer.writerow(self.COLUMNS)
            for m in batch:
                if m.key not in seen:
                    writer.writerow([neutralize(v) for v in (m.key, m.customer_id, m.customer_name, m.address,
                                                              m.subject, m.body)])
                    seen.add(m.key)
        return [Result(True, provider_id=path.name) for _m in batch]


class CallTasks(Provider):
    """A call list: one call task for each customer's owner (sales.services.plan_calls). Tasks carry no key of
    their own, so, like e-mail, this adapter is not idempotent: each task's outcome is committed on its own."""

    name = "sales_tasks"
    idempotent = False

    def send(self, batch: list[Outgoing]) -> list[Result]:
        made = plan_calls(calls=[{"customer_id": m.customer_id, "assignee_id": m.owner_id,
                                  "subject": m.subject or m.campaign_name, "notes": m.body} for m in batch])
        return [Result(True, provider_id=str(pk)) if pk else Result(False, error="no owner to call", permanent=True)
                for pk in made]


def provider_for(channel: str) -> Provider | None:
    """The configured provider of a channel (None: not configured; the sender then stops with that reason)."""
    if channel == "email":
        return SmtpEmail() if settings.EMAIL_BACKEND.endswith("smtp.EmailBackend") else None
    if channel == "sms":
        if not settings.MARKETING_SMS_URL:
            return None
        return HttpGateway(name="sms", url=settings.MARKETING_SMS_URL, key_id=settings.MARKETING_SMS_KEY_ID,
                           secret=settings.MARKETING_SMS_SECRET, payload=_sms_payload)
    if channel == "wechat":
        if not settings.MARKETING_WECHAT_URL:
            return None
        return HttpGateway(name="wechat", url=settings.MARKETING_WECHAT_URL, key_id=settings.MARKETING_SMS_KEY_ID,
                           secret=settings.MARKETING_SMS_SECRET, payload=_wechat_payload)
    if channel == "direct_mail":
        return FileAdapter()
    if channel == "call_list":
        return CallTasks()
    return None
