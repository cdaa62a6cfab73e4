"""The SMTP provider: email through an SMTP server, with :mod:`smtplib`.

One connection is opened on the first message and reused for the next ones; after any
error it is dropped and the next message opens a new one. A reused connection the server
has closed in the meantime (idle timeout) is re-opened once, and the message tried again
on it, before the message counts as failed.

Each message is ``multipart/alternative`` (text and HTML) when the template has both,
else a single part, with ``From``, ``To``, ``Subject``, ``Date``, a ``Message-ID`` made
from the outbox key (:func:`~segflow.channels.base.message_id`, in the From address's
domain: the same key gives the same id, so a message handed over twice after a crash is
recognisable) and ``X-Segflow-Key: <key>``.

How failures are classified (:class:`~segflow.channels.base.Delivery` status):

=========================================================  ===========
what happened                                              status
=========================================================  ===========
a 4xx reply (451 try again, 421 busy, 452 storage)         temporary
a 5xx reply to the message (550 mailbox unavailable,       permanent
recipient refused, 554 transaction failed)
no ``to`` address                                          permanent ("no address")
connection refused / reset / closed, timeout, DNS          temporary
anything while connecting, upgrading to TLS or logging in  temporary
(a 535 bad password is the channel's fault, not the
message's: the message is kept and tried again)
530 / 534 / 535 / 538 at any step (authentication or TLS   temporary
required: a misconfigured channel, not a bad message)
=========================================================  ===========
"""

from __future__ import annotations

import smtplib
import ssl as _ssl
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from segflow.channels.base import (
    PERMANENT,
    SENT,
    TEMPORARY,
    Delivery,
    OutMessage,
    message_id,
    one_line,
)

__all__ = ["CHANNEL_FAULTS", "EmailChannel", "classify_reply", "default_port"]


def default_port(*, ssl: bool, starttls: bool) -> int:
    """465 for SSL from the start, 587 for STARTTLS, else 25."""
    return 465 if ssl else 587 if starttls else 25


#: 5xx replies that are the channel's fault, not the message's: authentication or TLS
#: required (530, 538), a mechanism too weak (534), bad credentials (535). Kept for a retry.
CHANNEL_FAULTS = frozenset({530, 534, 535, 538})


def classify_reply(code: int) -> str:
    """The delivery status of an SMTP reply *code*: 5xx permanent (except :data:`CHANNEL_FAULTS`),
    anything else temporary."""
    return PERMANENT if 500 <= code <= 599 and code not in CHANNEL_FAULTS else TEMPORARY


def _reply_text(code: int, message: bytes | str) -> str:
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else str(message)
    return one_line(f"{code} {text}")


class _ConnectFailed(Exception):
    """Connecting, the TLS upgrade or the login failed (the message is not at fault)."""


class EmailChannel:
    """An email channel over one SMTP server (see the module docstring)."""

    provider = "smtp"
    SUPPORTS_HTML = True

    def __init__(self, name: str, *, sender: str, host: str, port: int | None = None, starttls: bool = False,
                 ssl: bool = False, username: str | None = None, password: str | None = None,
                 timeout: float = 10.0, address_attribute: str | None = "email") -> None:
        self.name = name
        self.address_attribute = address_attribute
        self.sender = sender
        self.host = host
        self.port = port or default_port(ssl=ssl, starttls=starttls)
        self.starttls = starttls
        self.ssl = ssl
        self.username = username
        self.password = password
        self.timeout = timeout
        self.domain = parseaddr(sender)[1].rpartition("@")[2] or "segflow.invalid"
        self._smtp: smtplib.SMTP | None = None

    # -- messages ------------------------------------------------------------------------
    def build(self, message: OutMessage) -> EmailMessage:
        """*message* as the email that is sent (without sending it)."""
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = message.to or ""
        mail["Subject"] = message.subject or ""
        from segflow.clock import now

        mail["Date"] = format_datetime(now())
        mail["Message-ID"] = message_id(message.key, self.domain)
        mail["X-Segflow-Key"] = message.key
        if message.text is not None and message.html is not None:
            mail.set_content(message.text)
            mail.add_alternative(message.html, subtype="html")
        elif message.html is not None:
            mail.set_content(message.html, subtype="html")
        else:
            mail.set_content(message.text or "")
        return mail

    def send(self, message: OutMessage) -> Delivery:
        if not message.to:
            return Delivery(PERMANENT, error="no address")
        if message.text is None and message.html is None:
            return Delivery(PERMANENT, error="empty message: no text and no html")
        try:
            mail = self.build(message)
        except (ValueError, TypeError) as exc:  # a header that cannot be encoded, e.g. a newline in To
            return Delivery(PERMANENT, error=one_line(f"message not buildable: {exc}"))
        ident = mail["Message-ID"]
        reused = self._smtp is not None
        try:
            try:
                self._hand_over(mail, message.to)
            except smtplib.SMTPServerDisconnected:
                if not reused:
                    raise
                self._drop()  # the server closed an idle connection: once more on a fresh one
                self._hand_over(mail, message.to)
        except _ConnectFailed as exc:
            self._drop()
            return Delivery(TEMPORARY, error=one_line(f"{self.host}:{self.port}: {exc}"))
        except smtplib.SMTPRecipientsRefused as exc:
            self._drop()
            code, reply = next(iter(exc.recipients.values()), (550, b"recipient refused"))
            return Delivery(classify_reply(code), error=_reply_text(code, reply))
        except smtplib.SMTPResponseException as exc:  # sender refused, data refused, any other reply
            self._drop()
            return Delivery(classify_reply(exc.smtp_code), error=_reply_text(exc.smtp_code, exc.smtp_error))
        except (smtplib.SMTPException, OSError) as exc:  # disconnected, refused, reset, timeout
            self._drop()
            return Delivery(TEMPORARY, error=one_line(f"{self.host}:{self.port}: {_describe(exc)}"))
        return Delivery(SENT, provider_id=ident)

    def _hand_over(self, mail: EmailMessage, to: str) -> None:
        smtp = self._connection()
        smtp.send_message(mail, from_addr=parseaddr(self.sender)[1] or self.sender, to_addrs=[to])

    # -- the connection ------------------------------------------------------------------
    def _connection(self) -> smtplib.SMTP:
        if self._smtp is not None:
            return self._smtp
        smtp: smtplib.SMTP | None = None
        try:
            if self.ssl:
                smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout,
                                        context=_ssl.create_default_context())
            else:
                smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            smtp.ehlo()
            if self.starttls:
                smtp.starttls(context=_ssl.create_default_context())
                smtp.ehlo()
            if self.username:
                smtp.login(self.username, self.password or "")
        except (smtplib.SMTPException, OSError) as exc:
            if smtp is not None:
                _quietly_close(smtp)
            raise _ConnectFailed(_describe(exc)) from exc
        self._smtp = smtp
        return smtp

    def _drop(self) -> None:
        if self._smtp is not None:
            _quietly_close(self._smtp)
            self._smtp = None

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (smtplib.SMTPException, OSError):
                pass
            self._drop()


def _quietly_close(smtp: smtplib.SMTP) -> None:
    try:
        smtp.close()
    except OSError:
        pass


def _describe(exc: BaseException) -> str:
    """One line for *exc*: the SMTP reply when there is one, else the OS error."""
    if isinstance(exc, smtplib.SMTPResponseException):
        return _reply_text(exc.smtp_code, exc.smtp_error)
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return one_line(exc) or type(exc).__name__
