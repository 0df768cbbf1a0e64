"""Hand messages to whatever ``EMAIL_URL`` selects, and say how each attempt failed.

- SMTP (``smtp://``, ``smtps://``): one connection per batch, opened with Django's SMTP backend (so TLS,
  SSL, authentication and timeouts follow the settings), messages sent as prebuilt bytes.
- The outbox (``file://``, the development default): one ``.eml`` file per message.
- Any other Django backend (django-anymail providers, console, locmem): the message as a Django e-mail.

Failures come back as two exceptions. ``TransientError`` (connection refused or dropped, timeouts, 4xx
replies, provider API outages) means "try again later"; with ``connection_lost`` the connection is gone
and the rest of the batch is handed back. ``PermanentError`` (5xx replies, a provider refusing the
recipient) means this message will never go; ``suppress`` says whether the address itself was refused.
"""

import contextlib
import os
import re
import smtplib
import uuid
from pathlib import Path

from django.conf import settings
from django.core.mail import get_connection
from django.utils import timezone

from watchdesk.delivery.messages import envelope_sender

SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
OUTBOX_BACKEND = "watchdesk.core.mail.OutboxBackend"


class TransientError(Exception):
    def __init__(self, message, *, connection_lost=False):
        super().__init__(message)
        self.connection_lost = connection_lost


class PermanentError(Exception):
    def __init__(self, message, *, suppress=False):
        super().__init__(message)
        self.suppress = suppress


def _reply(code, text):
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{code} {text}".strip()


class SmtpTransport:
    def __init__(self):
        self.backend = None
        self.envelope_from = envelope_sender()

    def _connect(self):
        self.backend = get_connection(SMTP_BACKEND, fail_silently=False)
        try:
            self.backend.open()
            # Learn the server's extensions (PIPELINING) before the first message, not after it.
            self.backend.connection.ehlo_or_helo_if_needed()
        except (OSError, smtplib.SMTPException) as exc:
            self.backend = None
            raise TransientError(f"Cannot connect to the mail server: {exc}", connection_lost=True) from exc

    def send(self, outgoing):
        if self.backend is None or self.backend.connection is None:
            self._connect()
        smtp = self.backend.connection
        try:
            if smtp.has_extn("pipelining") and outgoing.to.isascii():
                pipelined_sendmail(smtp, self.envelope_from, outgoing.to, outgoing.as_bytes())
            else:
                smtp.sendmail(self.envelope_from, [outgoing.to], outgoing.as_bytes())
        except UnicodeEncodeError as exc:
            raise PermanentError(f"The address needs SMTPUTF8, which the server lacks: {exc}") from exc
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = exc.recipients.get(outgoing.to, (451, b"refused"))
            if code >= 500:
                raise PermanentError(_reply(code, text), suppress=True) from exc
            raise TransientError(_reply(code, text)) from exc
        except smtplib.SMTPSenderRefused as exc:
            # Our own sender address was refused: nothing to do with the reader; retry, then fail.
            raise TransientError(_reply(exc.smtp_code, exc.smtp_error)) from exc
        except smtplib.SMTPDataError as exc:
            if exc.smtp_code >= 500:
                raise PermanentError(_reply(exc.smtp_code, exc.smtp_error), suppress=True) from exc
            raise TransientError(_reply(exc.smtp_code, exc.smtp_error)) from exc
        except (OSError, smtplib.SMTPException) as exc:
            self.close()
            raise TransientError(f"Connection to the mail server lost: {exc}", connection_lost=True) from exc

    def close(self):
        if self.backend is not None:
            # Closing a broken connection may fail in any way; it is gone either way.
            with contextlib.suppress(Exception):
                self.backend.close()
            self.backend = None


_LEADING_DOT = re.compile(rb"(?m)^\.")


def _reset(smtp):
    # After a refusal; if the connection is gone too, the next message finds out and reconnects.
    with contextlib.suppress(OSError, smtplib.SMTPException):
        smtp.rset()


def pipelined_sendmail(smtp, sender, recipient, raw):
    """``smtp.sendmail`` for one recipient with RFC 2920 pipelining: MAIL, RCPT and DATA go out in one
    write and the message in a second, two round trips instead of four (smtplib cannot pipeline; the gain
    is measured in bench/README.md). Raises the same exceptions as ``sendmail``, so refusals are classified
    alike. ``raw`` must use CRLF line endings (ours do)."""
    smtp.send(f"MAIL FROM:<{sender}>\r\nRCPT TO:<{recipient}>\r\nDATA\r\n")
    mail = smtp.getreply()
    rcpt = smtp.getreply()
    data = smtp.getreply()
    if data[0] == 354 and (mail[0] != 250 or rcpt[0] not in (250, 251)):
        # A server that accepts DATA with no valid recipient: end the empty transaction.
        smtp.send(b".\r\n")
        smtp.getreply()
    if mail[0] != 250:
        _reset(smtp)
        raise smtplib.SMTPSenderRefused(mail[0], mail[1], sender)
    if rcpt[0] not in (250, 251):
        _reset(smtp)
        raise smtplib.SMTPRecipientsRefused({recipient: rcpt})
    if data[0] != 354:
        _reset(smtp)
        raise smtplib.SMTPDataError(*data)
    body = _LEADING_DOT.sub(b"..", raw)
    if not body.endswith(b"\r\n"):
        body += b"\r\n"
    smtp.send(body + b".\r\n")
    code, reply = smtp.getreply()
    if code != 250:
        raise smtplib.SMTPDataError(code, reply)


class OutboxTransport:
    """Write each message to EMAIL_FILE_PATH as an .eml file, renamed into place when complete."""

    def __init__(self):
        self.directory = Path(settings.EMAIL_FILE_PATH)
        self.directory.mkdir(parents=True, exist_ok=True)

    def send(self, outgoing):
        name = f"{timezone.now():%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:12]}.eml"
        temporary = self.directory / f".{name}.tmp"
        try:
            temporary.write_bytes(outgoing.as_bytes())
            os.replace(temporary, self.directory / name)
        except OSError as exc:
            raise TransientError(f"Cannot write to the outbox: {exc}") from exc

    def close(self):
        pass


class BackendTransport:
    """Any other Django e-mail backend, django-anymail's providers included."""

    def __init__(self):
        self.connection = get_connection(fail_silently=False)

    def send(self, outgoing):
        try:
            from anymail.exceptions import AnymailRecipientsRefused
        except ImportError:  # pragma: no cover - anymail is a dependency, but keep this usable without
            AnymailRecipientsRefused = ()  # noqa: N806
        try:
            self.connection.send_messages([outgoing.as_django()])
        except AnymailRecipientsRefused as exc:
            raise PermanentError(str(exc), suppress=True) from exc
        except Exception as exc:  # noqa: BLE001 - providers raise many kinds; all are worth a retry
            raise TransientError(f"{type(exc).__name__}: {exc}") from exc

    def close(self):
        with contextlib.suppress(Exception):
            self.connection.close()


def open_transport():
    if settings.EMAIL_BACKEND == SMTP_BACKEND:
        return SmtpTransport()
    if settings.EMAIL_BACKEND == OUTBOX_BACKEND:
        return OutboxTransport()
    return BackendTransport()
