"""``channels:`` in segflow.yaml: defaults, providers, and one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from segflow.channels import STANDARD_CHANNELS, configured_channels, open_channels
from segflow.channels.email import EmailChannel
from segflow.channels.file import FileChannel
from segflow.config import ProjectConfig, read_config
from segflow.errors import ChannelError, ProjectError


def project(tmp_path: Path, text: str) -> Path:
    root = tmp_path / "proj"
    root.mkdir()
    (root / "segflow.yaml").write_text(text, encoding="utf-8")
    return root


def test_no_channels_section_is_a_file_per_standard_channel(tmp_path: Path) -> None:
    root = project(tmp_path, "name: shop\n")
    config = read_config(root)
    assert config.channels is None
    assert set(configured_channels(config)) == set(STANDARD_CHANNELS) == {"email", "sms", "push", "wechat", "wecom", "file"}
    channels = open_channels(config, root)
    assert all(isinstance(ch, FileChannel) for ch in channels.values())
    assert {name: ch.path for name, ch in channels.items()} == {  # type: ignore[attr-defined]
        name: root / ".segflow" / "outbox" / f"{name}.jsonl" for name in STANDARD_CHANNELS}
    assert (channels["email"].address_attribute, channels["sms"].address_attribute,
            channels["file"].address_attribute) == ("email", "phone", None)


def test_the_spec_example(tmp_path: Path) -> None:
    root = project(tmp_path, """\
channels:
  email:
    smtp: {host: 127.0.0.1, port: 2525, starttls: false, ssl: false, username: null, password_env: SMTP_PASSWORD, timeout: 10}
    from: "Shop <news@shop.example>"
  file: {path: outbox.jsonl}
  sms: {provider: file, path: .segflow/outbox/sms.jsonl}
  push: {address: push_token}
""")
    config = read_config(root)
    assert set(configured_channels(config)) == {"email", "file", "sms", "push"}
    channels = open_channels(config, root, environ={"SMTP_PASSWORD": "pw"})
    email = channels["email"]
    assert isinstance(email, EmailChannel)
    assert (email.host, email.port, email.password, email.domain, email.address_attribute) == (
        "127.0.0.1", 2525, "pw", "shop.example", "email")
    assert isinstance(channels["file"], FileChannel) and channels["file"].path == root / "outbox.jsonl"
    assert channels["sms"].path == root / ".segflow" / "outbox" / "sms.jsonl"  # type: ignore[attr-defined]
    assert channels["sms"].address_attribute == "phone"
    assert channels["push"].address_attribute == "push_token"


def test_an_absolute_path_stays(tmp_path: Path) -> None:
    config = ProjectConfig.model_validate({"channels": {"file": {"path": str(tmp_path / "x.jsonl")}}})
    assert open_channels(config, tmp_path / "elsewhere")["file"].path == tmp_path / "x.jsonl"  # type: ignore[attr-defined]


@pytest.mark.parametrize(("settings", "port"), [({}, 25), ({"starttls": True}, 587), ({"ssl": True}, 465)],
                         ids=["plain", "starttls", "ssl"])
def test_default_ports(tmp_path: Path, settings: dict[str, bool], port: int) -> None:
    config = ProjectConfig.model_validate({"channels": {"email": {"smtp": settings, "from": "a@b.example"}}})
    assert open_channels(config, tmp_path, environ={})["email"].port == port  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("channels:\n  email:\n    smtp: {hots: x}\n    from: a@b.example\n",
         "channels.email.smtp.hots: Extra inputs are not permitted"),
        ("channels:\n  email:\n    smtp: {port: seventy}\n",
         "channels.email.smtp.port: Input should be a valid integer, unable to parse string as an integer"),
        ("channels:\n  email:\n    smtp: {ssl: true, starttls: true}\n",
         "channels.email.smtp: Value error, ssl and starttls exclude each other (ssl: TLS from the start, "
         "starttls: upgrade)"),
        ("channels:\n  Email: {}\n",
         "channels: Value error, 'Email' is not a channel name ('E': lower-case letters only; lower-case "
         "letters, digits and _)"),
        ("channels:\n  sms: {pathh: x}\n", "channels.sms.pathh: Extra inputs are not permitted"),
    ],
    ids=["unknown-key", "bad-port", "ssl-and-starttls", "bad-name", "typo"],
)
def test_a_bad_config_is_one_line(tmp_path: Path, text: str, message: str) -> None:
    root = project(tmp_path, text)
    with pytest.raises(ProjectError) as caught:
        read_config(root)
    assert str(caught.value) == f"{root / 'segflow.yaml'}: {message}"
    assert "\n" not in str(caught.value) and caught.value.code == "bad_config"


@pytest.mark.parametrize(
    ("channels", "environ", "message"),
    [
        ({"sms": {"provider": "twilio"}}, {},
         "segflow.yaml: channels.sms.provider: unknown provider 'twilio' (providers: file, smtp)"),
        ({"email": {"from": "a@b.example"}}, {},
         "segflow.yaml: channels.email.smtp: the smtp provider needs smtp settings (host, port, ...)"),
        ({"email": {"smtp": {}}}, {},
         "segflow.yaml: channels.email.from: the smtp provider needs a from address, e.g. \"Shop <news@shop.example>\""),
        ({"sms": {"smtp": {}}}, {},
         "segflow.yaml: channels.sms.smtp: smtp is for the smtp provider; this channel uses file"),
        ({"email": {"smtp": {"password_env": "SHOP_PW"}, "from": "a@b.example"}}, {},
         "segflow.yaml: channels.email.smtp.password_env: the environment variable SHOP_PW is not set "
         "(it holds the SMTP password)"),
        ({"email": {"smtp": {"username": "shop"}, "from": "a@b.example"}}, {},
         "segflow.yaml: channels.email.smtp.password_env: user 'shop' needs a password: name the environment "
         "variable holding it in password_env"),
        ({"email": {"smtp": {}, "from": "a@b.example"}}, {"SEGFLOW_SMTP_PORT": "x"},
         "segflow.yaml: channels.email.smtp.port: $SEGFLOW_SMTP_PORT is 'x', not a port number"),
    ],
    ids=["unknown-provider", "no-smtp", "no-from", "smtp-on-file", "password-unset", "user-without-password",
         "bad-env-port"],
)
def test_a_channel_that_cannot_open(tmp_path: Path, channels: dict, environ: dict[str, str], message: str) -> None:
    config = ProjectConfig.model_validate({"channels": channels})
    with pytest.raises(ChannelError) as caught:
        open_channels(config, tmp_path, environ=environ)
    assert str(caught.value) == message
    assert caught.value.code == "channel_config"


def test_plan_checks_providers_without_the_environment() -> None:
    config = ProjectConfig.model_validate({"channels": {"email": {"smtp": {"password_env": "UNSET_PW"}, "from": "a@b.example"}}})
    assert list(configured_channels(config)) == ["email"]  # the password is only needed to open
    with pytest.raises(ChannelError, match="unknown provider 'http'"):
        configured_channels(ProjectConfig.model_validate({"channels": {"push": {"provider": "http"}}}))


def test_environment_overrides_username(tmp_path: Path) -> None:
    config = ProjectConfig.model_validate({"channels": {"email": {
        "smtp": {"username": "from-file", "password_env": "PW"}, "from": "a@b.example"}}})
    ch = open_channels(config, tmp_path, environ={"PW": "x", "SEGFLOW_SMTP_USERNAME": "from-env",
                                                  "SEGFLOW_SMTP_HOST": "mail.example"})["email"]
    assert (ch.username, ch.host) == ("from-env", "mail.example")  # type: ignore[attr-defined]


def test_an_empty_channels_section_has_no_channels() -> None:
    assert configured_channels(ProjectConfig.model_validate({"channels": {}})) == {}
