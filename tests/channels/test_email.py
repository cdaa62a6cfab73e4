"""The SMTP provider against a real SMTP server on loopback (aiosmtpd)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest
from smtp_sink import Server, free_port

from segflow.channels import OutMessage, message_id
from segflow.channels.email import EmailChannel, classify_reply

SENDER = "Shop <news@shop.example>"


def message(key: str = "winback:p1:1:coupon_email", *, to: str | None = "ann@example.com",
            text: str | None = "Hi Ann, use COMEBACK20.", html: str | None = "<p>Hi Ann, use <b>COMEBACK20</b>.</p>",
            subject: str | None = "20% off, Ann") -> OutMessage:
    return OutMessage(key=key, channel="email", to=to, subject=subject, text=text, html=html,
                      meta={"journey": "winback", "node": "coupon_email"})


def _content(part: Any) -> str:
    """A received part's text, with the wire's CRLF line ends as LF."""
    return str(part.get_content()).replace("\r\n", "\n")


def channel(server: Server | None = None, *, port: int | None = None, **kwargs: Any) -> EmailChannel:
    return EmailChannel("email", sender=SENDER, host="127.0.0.1", port=port or (server.port if server else 25),
                        timeout=5, **kwargs)


def test_sends_a_multipart_message_with_a_stable_message_id(smtp_server: Callable[..., Server]) -> None:
    server = smtp_server()
    ch = channel(server)
    try:
        delivery = ch.send(message())
    finally:
        ch.close()
    expected_id = message_id("winback:p1:1:coupon_email", "shop.example")
    assert delivery.status == "sent" and delivery.provider_id == expected_id and delivery.error is None
    [mail] = server.handler.messages
    assert server.handler.envelopes == [("news@shop.example", ["ann@example.com"])]
    assert mail["Message-ID"] == expected_id
    assert mail["X-Segflow-Key"] == "winback:p1:1:coupon_email"
    assert mail["Subject"] == "20% off, Ann"
    assert mail["From"] == SENDER and mail["To"] == "ann@example.com" and mail["Date"]
    assert mail.get_content_type() == "multipart/alternative"
    parts = {part.get_content_type(): _content(part) for part in mail.iter_parts()}  # type: ignore[attr-defined]
    assert parts == {"text/plain": "Hi Ann, use COMEBACK20.\n",
                     "text/html": "<p>Hi Ann, use <b>COMEBACK20</b>.</p>\n"}


def test_message_id_is_stable_per_key() -> None:
    first = message_id("winback:p1:1:coupon_email", "shop.example")
    assert first == message_id("winback:p1:1:coupon_email", "shop.example")
    assert first != message_id("winback:p1:2:coupon_email", "shop.example")
    assert first.startswith("<") and first.endswith("@shop.example>")


def test_same_key_same_message_id_when_handed_over_twice(smtp_server: Callable[..., Server]) -> None:
    server = smtp_server()
    ch = channel(server)
    try:
        a, b = ch.send(message()), ch.send(message())
    finally:
        ch.close()
    assert a.provider_id == b.provider_id
    assert [m["Message-ID"] for m in server.handler.messages] == [a.provider_id, a.provider_id]


def test_one_part_when_the_template_has_only_text_or_only_html(smtp_server: Callable[..., Server]) -> None:
    server = smtp_server()
    ch = channel(server)
    try:
        assert ch.send(message("k:1", html=None)).status == "sent"
        assert ch.send(message("k:2", text=None)).status == "sent"
    finally:
        ch.close()
    assert [m.get_content_type() for m in server.handler.messages] == ["text/plain", "text/html"]


def test_non_ascii_subject_and_body(smtp_server: Callable[..., Server]) -> None:
    server = smtp_server()
    ch = channel(server)
    try:
        assert ch.send(message(subject="李明，您的优惠券", text="您好 李明", html=None)).status == "sent"
    finally:
        ch.close()
    [mail] = server.handler.messages
    assert mail["Subject"] == "李明，您的优惠券"
    assert _content(mail) == "您好 李明\n"


def test_the_connection_is_reused_and_reopened_after_an_error(smtp_server: Callable[..., Server]) -> None:
    server = smtp_server()
    ch = channel(server)
    try:
        assert ch.send(message("k:1")).status == "sent"
        assert ch.send(message("k:2")).status == "sent"
        assert server.handler.sessions == 1
        server.handler.data_reply = "451 4.3.0 try again later"
        assert ch.send(message("k:3")).status == "temporary"
        server.handler.data_reply = None
        assert ch.send(message("k:4")).status == "sent"
        assert server.handler.sessions == 2
    finally:
        ch.close()


def test_a_connection_closed_by_the_server_is_reopened_once(smtp_server: Callable[..., Server]) -> None:
    first = smtp_server()
    ch = channel(first)
    try:
        assert ch.send(message("k:1")).status == "sent"
        port = first.port
        first.stop()  # the open connection is now dead
        second = smtp_server(port=port)
        delivery = ch.send(message("k:2"))
        assert delivery.status == "sent", delivery
        assert [m["X-Segflow-Key"] for m in second.handler.messages] == ["k:2"]
    finally:
        ch.close()


@pytest.mark.parametrize(
    ("where", "reply", "status"),
    [
        ("rcpt", "550 5.1.1 mailbox unavailable", "permanent"),
        ("rcpt", "451 4.7.1 greylisted, try again", "temporary"),
        ("data", "554 5.7.1 message refused", "permanent"),
        ("data", "452 4.3.1 insufficient storage", "temporary"),
    ],
    ids=["rcpt-550", "rcpt-451", "data-554", "data-452"],
)
def test_replies_are_classified(smtp_server: Callable[..., Server], where: str, reply: str, status: str) -> None:
    server = smtp_server()
    setattr(server.handler, f"{where}_reply", reply)
    ch = channel(server)
    try:
        delivery = ch.send(message())
    finally:
        ch.close()
    assert delivery.status == status
    assert delivery.error == reply and delivery.provider_id is None
    assert server.handler.messages == []


def test_a_server_that_is_down_is_temporary() -> None:
    ch = channel(port=free_port())
    try:
        delivery = ch.send(message())
    finally:
        ch.close()
    assert delivery.status == "temporary"
    assert delivery.error is not None and delivery.error.startswith("127.0.0.1:") and "\n" not in delivery.error


def test_a_server_back_up_takes_the_message(smtp_server: Callable[..., Server]) -> None:
    port = free_port()
    ch = channel(port=port)
    try:
        assert ch.send(message()).status == "temporary"
        server = smtp_server(port=port)
        assert ch.send(message()).status == "sent"
        assert len(server.handler.messages) == 1
    finally:
        ch.close()


@pytest.mark.parametrize("to", [None, ""], ids=["none", "empty"])
def test_no_address_is_permanent(to: str | None) -> None:
    delivery = channel(port=free_port()).send(message(to=to))
    assert (delivery.status, delivery.error) == ("permanent", "no address")


@pytest.mark.parametrize(("code", "status"), [(250, "temporary"), (421, "temporary"), (451, "temporary"),
                                              (500, "permanent"), (550, "permanent"), (554, "permanent"),
                                              (530, "temporary"), (535, "temporary")],
                         ids=str)
def test_classify_reply(code: int, status: str) -> None:
    assert classify_reply(code) == status


def _authenticator(password: str) -> Callable[..., Any]:
    from aiosmtpd.smtp import AuthResult, LoginPassword

    def check(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and auth_data.login == b"shop" and auth_data.password == password.encode()
        return AuthResult(success=ok, handled=False)

    return check


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_auth_with_the_password_from_the_environment(smtp_server: Callable[..., Server],
                                                      tmp_path: Any) -> None:
    from segflow.channels import open_channels
    from segflow.config import ProjectConfig

    server = smtp_server(authenticator=_authenticator("s3cret"), auth_require_tls=False, auth_required=True)
    config = ProjectConfig.model_validate({"channels": {"email": {
        "smtp": {"host": "127.0.0.1", "port": server.port, "username": "shop", "password_env": "SHOP_SMTP_PW"},
        "from": SENDER}}})
    good = open_channels(config, tmp_path, environ={"SHOP_SMTP_PW": "s3cret"})["email"]
    bad = open_channels(config, tmp_path, environ={"SHOP_SMTP_PW": "wrong"})["email"]
    try:
        assert good.send(message("k:1")).status == "sent"
        refused = bad.send(message("k:2"))
    finally:
        good.close()
        bad.close()
    # a wrong password is the channel's fault, not the message's: kept for a retry
    assert refused.status == "temporary" and refused.error is not None and "535" in refused.error
    assert [m["X-Segflow-Key"] for m in server.handler.messages] == ["k:1"]


def test_environment_overrides_host_and_port(smtp_server: Callable[..., Server], tmp_path: Any) -> None:
    from segflow.channels import open_channels
    from segflow.config import ProjectConfig

    server = smtp_server()
    config = ProjectConfig.model_validate({"channels": {"email": {
        "smtp": {"host": "smtp.nowhere.invalid", "port": 1}, "from": SENDER}}})
    env = {"SEGFLOW_SMTP_HOST": "127.0.0.1", "SEGFLOW_SMTP_PORT": str(server.port)}
    ch = open_channels(config, tmp_path, environ=env)["email"]
    try:
        assert ch.send(message()).status == "sent"
    finally:
        ch.close()
    assert len(server.handler.messages) == 1


@pytest.fixture
def certificate(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    """A self-signed certificate for 127.0.0.1, trusted by the client (``SSL_CERT_FILE``)."""
    import shutil
    import subprocess

    if shutil.which("openssl") is None:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("openssl is needed in CI to make the test certificate")
        pytest.skip("openssl is needed to make a test certificate")
    cert, key = str(tmp_path / "cert.pem"), str(tmp_path / "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    monkeypatch.setenv("SSL_CERT_FILE", cert)
    return cert, key


def _server_context(certificate: tuple[str, str]) -> Any:
    import ssl

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    return context


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_starttls(smtp_server: Callable[..., Server], certificate: tuple[str, str]) -> None:
    server = smtp_server(tls_context=_server_context(certificate), require_starttls=True)
    plain = channel(server)
    secure = channel(server, starttls=True)
    try:
        refused = plain.send(message("k:1"))
        assert secure.send(message("k:2")).status == "sent"
    finally:
        plain.close()
        secure.close()
    # 530 must issue STARTTLS first: the channel's settings are wrong, the message is kept
    assert refused.status == "temporary" and refused.error is not None and refused.error.startswith("530")
    assert [m["X-Segflow-Key"] for m in server.handler.messages] == ["k:2"]


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_ssl(smtp_server: Callable[..., Server], certificate: tuple[str, str]) -> None:
    server = smtp_server(ssl_context=_server_context(certificate))
    ch = channel(server, ssl=True)
    try:
        assert ch.send(message()).status == "sent"
    finally:
        ch.close()
    assert len(server.handler.messages) == 1


def test_a_server_that_never_answers_is_temporary() -> None:
    import socket

    with socket.socket() as silent:  # accepts connections (the backlog) but never greets
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        ch = EmailChannel("email", sender=SENDER, host="127.0.0.1", port=silent.getsockname()[1], timeout=0.3)
        try:
            delivery = ch.send(message())
        finally:
            ch.close()
    assert delivery.status == "temporary"
    assert delivery.error is not None and delivery.error.startswith(f"127.0.0.1:{ch.port}: ")
    assert delivery.error.endswith("timed out")
