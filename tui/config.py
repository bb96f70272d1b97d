"""Where errlog-tui connects and how its keys are bound: command-line options over errlog's settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from errlog.settings import Settings, SettingsError, load_settings


class ConfigError(Exception):
    """A connection setting that cannot be used, with a message saying what to pass instead."""


@dataclass(frozen=True)
class Remote:
    """A server to talk to, and where that choice came from (shown in the banner and error messages)."""

    server: str
    token: str | None
    source: str


@dataclass(frozen=True)
class TuiConfig:
    """What errlog-tui needs before it draws anything. `remote` None means local mode."""

    remote: Remote | None
    data_dir: Path
    public_url: str
    keymap: dict[str, str] = field(default_factory=dict)


def resolve_config(
    *, server: str | None = None, token: str | None = None, profile: str | None = None, settings: Settings | None = None
) -> TuiConfig:
    """The connection from, in order: --server/--token, --profile, ERRLOG_SERVER/ERRLOG_TOKEN, the config file's
    tui_profile; with none of them, local mode."""
    try:
        settings = settings or load_settings()
        # Validated by the same rules as the settings, so `--server ftp://x` fails like ERRLOG_SERVER=ftp://x.
        explicit = load_settings(server=server).server if server is not None else None
    except SettingsError as exc:
        raise ConfigError(str(exc).replace("ERRLOG_SERVER", "--server")) from None
    remote = _remote(settings, explicit, token, profile)
    if remote is not None and not remote.token:
        raise ConfigError(
            f"no API token for {remote.server} ({remote.source}): pass --token or set ERRLOG_TOKEN "
            "(an admin makes one with `errlog token create NAME --role responder`)"
        )
    return TuiConfig(
        remote=remote, data_dir=settings.data_dir, public_url=settings.public_url, keymap=dict(settings.tui_keymap)
    )


def _remote(settings: Settings, server: str | None, token: str | None, profile: str | None) -> Remote | None:
    configured_token = settings.token.get_secret_value() if settings.token else None
    if server and profile:
        raise ConfigError("give either --server or --profile, not both")
    if server:
        return Remote(server, token or configured_token, "--server")
    name = profile or settings.tui_profile
    if profile or (name and not settings.server):
        known = settings.tui_profiles
        if name not in known:
            names = ", ".join(sorted(known)) or "none are defined: add a [tui_profiles.NAME] table to the config file"
            raise ConfigError(f"unknown profile {name!r} (profiles: {names})")
        chosen = known[name]
        chosen_token = token or (chosen.token.get_secret_value() if chosen.token else None)
        return Remote(chosen.server, chosen_token, f"profile {name}")
    if settings.server:
        return Remote(settings.server, token or configured_token, "ERRLOG_SERVER")
    if token:
        raise ConfigError("--token needs a server: pass --server URL, --profile NAME or set ERRLOG_SERVER")
    return None
