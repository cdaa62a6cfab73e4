"""From ``segflow.yaml`` to open channels: which channels exist and how each is opened.

``channels:`` maps a channel name to its settings; each entry's ``provider`` defaults to
``smtp`` for ``email`` and to ``file`` for every other name. With no ``channels:`` section
at all, every standard channel (:data:`STANDARD_CHANNELS`) is the file provider writing
``.segflow/outbox/<name>.jsonl`` in the project: a new project sends nothing anywhere by
accident, and the files show what would have gone out.

:func:`configured_channels` is what plan / apply check a journey's ``send.channel``
against; :func:`open_channels` builds one channel object per entry. Both raise
:class:`~segflow.errors.ChannelError` (code ``channel_config``) for a channel that cannot
work, naming ``segflow.yaml`` and the channel; opening reads the environment (SMTP
overrides and the password) but connects to nothing: a channel connects on its first
message.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path

from segflow.channels.base import Channel
from segflow.channels.email import EmailChannel
from segflow.channels.file import FileChannel
from segflow.config import CONFIG_FILE, ChannelSettings, ProjectConfig, SmtpSettings
from segflow.errors import ChannelError

__all__ = ["ADDRESS_ATTRIBUTES", "OUTBOX_DIR", "PROVIDERS", "STANDARD_CHANNELS", "configured_channels",
           "open_channel", "open_channels", "provider_of"]

#: The channels a project without a ``channels:`` section has (each writing a file).
STANDARD_CHANNELS = ("email", "sms", "push", "wechat", "wecom", "file")
#: Where the file provider writes by default, under the project: ``<OUTBOX_DIR>/<name>.jsonl``.
OUTBOX_DIR = ".segflow/outbox"
#: The profile column a channel's address comes from, unless its settings say ``address``.
ADDRESS_ATTRIBUTES: dict[str, str] = {"email": "email", "sms": "phone"}
#: Environment variables that override ``smtp`` settings (host, port, username).
ENV_HOST, ENV_PORT, ENV_USERNAME = "SEGFLOW_SMTP_HOST", "SEGFLOW_SMTP_PORT", "SEGFLOW_SMTP_USERNAME"

Opener = Callable[[str, ChannelSettings, Path, Mapping[str, str]], Channel]


def provider_of(name: str, settings: ChannelSettings) -> str:
    """The provider of channel *name*: its ``provider``, else ``smtp`` for email, else ``file``."""
    return settings.provider or ("smtp" if name == "email" else "file")


def _where(name: str, field: str | None = None) -> str:
    return f"{CONFIG_FILE}: channels.{name}" + (f".{field}" if field else "")


def _fail(name: str, field: str | None, message: str) -> ChannelError:
    where = _where(name, field)
    return ChannelError(f"{where}: {message}", path=where.removeprefix(f"{CONFIG_FILE}: "))


def configured_channels(config: ProjectConfig) -> dict[str, ChannelSettings]:
    """Channel name → settings, checked: the project's ``channels:``, or with none, every
    standard channel as the file provider. Raises :class:`ChannelError` for an unknown
    provider or settings the provider cannot use (an smtp channel without ``smtp`` or ``from``).
    """
    if config.channels is None:
        return {name: ChannelSettings(provider="file") for name in STANDARD_CHANNELS}
    for name, settings in config.channels.items():
        _check(name, settings)
    return dict(config.channels)


def _check(name: str, settings: ChannelSettings) -> None:
    provider = provider_of(name, settings)
    if provider not in PROVIDERS:
        raise _fail(name, "provider", f"unknown provider {provider!r} (providers: {', '.join(sorted(PROVIDERS))})")
    if provider == "smtp":
        if settings.smtp is None:
            raise _fail(name, "smtp", "the smtp provider needs smtp settings (host, port, ...)")
        if not settings.sender:
            raise _fail(name, "from", "the smtp provider needs a from address, e.g. \"Shop <news@shop.example>\"")
        if settings.path is not None:
            raise _fail(name, "path", "path is for the file provider; this channel uses smtp")
    elif settings.smtp is not None or settings.sender is not None:
        field = "smtp" if settings.smtp is not None else "from"
        raise _fail(name, field, f"{field} is for the smtp provider; this channel uses {provider}")


def open_channels(config: ProjectConfig, root: Path, *, environ: Mapping[str, str] | None = None) -> dict[str, Channel]:
    """One channel per configured channel, not yet connected (each connects on its first
    message; :meth:`Channel.close` each when done). *environ* defaults to ``os.environ``."""
    env = os.environ if environ is None else environ
    return {name: open_channel(name, settings, root, environ=env)
            for name, settings in configured_channels(config).items()}


def open_channel(name: str, settings: ChannelSettings, root: Path, *,
                 environ: Mapping[str, str] | None = None) -> Channel:
    """The channel *name* with *settings* (checked as in :func:`configured_channels`)."""
    _check(name, settings)
    env = os.environ if environ is None else environ
    return PROVIDERS[provider_of(name, settings)](name, settings, Path(root), env)


def _address(name: str, settings: ChannelSettings) -> str | None:
    return settings.address or ADDRESS_ATTRIBUTES.get(name)


def _open_file(name: str, settings: ChannelSettings, root: Path, environ: Mapping[str, str]) -> Channel:
    path = Path(settings.path or f"{OUTBOX_DIR}/{name}.jsonl").expanduser()
    return FileChannel(name, path if path.is_absolute() else root / path, address_attribute=_address(name, settings))


def _open_smtp(name: str, settings: ChannelSettings, root: Path, environ: Mapping[str, str]) -> Channel:
    smtp = settings.smtp or SmtpSettings()
    host = environ.get(ENV_HOST) or smtp.host
    port = smtp.port
    if environ.get(ENV_PORT):
        try:
            port = int(environ[ENV_PORT])
        except ValueError:
            raise _fail(name, "smtp.port", f"${ENV_PORT} is {environ[ENV_PORT]!r}, not a port number") from None
        if not 1 <= port <= 65535:
            raise _fail(name, "smtp.port", f"${ENV_PORT} is {port}, not a port number (1-65535)")
    username = environ.get(ENV_USERNAME) or smtp.username
    password = None
    if smtp.password_env:
        password = environ.get(smtp.password_env)
        if password is None:
            raise _fail(name, "smtp.password_env", f"the environment variable {smtp.password_env} is not set "
                        "(it holds the SMTP password)")
    elif username:
        raise _fail(name, "smtp.password_env", f"user {username!r} needs a password: name the environment "
                    "variable holding it in password_env")
    return EmailChannel(name, sender=settings.sender or "", host=host, port=port, starttls=smtp.starttls,
                        ssl=smtp.ssl, username=username, password=password, timeout=smtp.timeout,
                        address_attribute=_address(name, settings) or "email")


#: Provider name → how a channel of it is opened.
PROVIDERS: dict[str, Opener] = {"smtp": _open_smtp, "file": _open_file}
