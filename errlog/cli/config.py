"""`errlog config`: the effective settings, secrets masked, and where each value came from."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import click
from pydantic import SecretStr
from pydantic_settings import (
    DotEnvSettingsSource,
    EnvSettingsSource,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SecretsSettingsSource,
    TomlConfigSettingsSource,
)

from errlog.cli.common import echo_json, echo_table, json_option
from errlog.settings import Settings, default_config_file, load_settings

# Names of settings holding credentials (passwords, tokens, keys, webhook URLs with a secret in the path).
SECRET_NAME = re.compile(r"(^|_)(password|secret|token|key|auth|credentials?|webhook|dsn)(_|$)", re.IGNORECASE)
MASK = "********"


@click.command("config")
@json_option
def command(as_json: bool) -> None:
    """Show the effective settings (secrets masked) and where each came from."""
    config = load_settings()
    config_file = config.config or default_config_file()
    sources = _sources()
    rows = []
    for name in Settings.model_fields:
        value = getattr(config, name)
        if name == "database_url" and value is None:
            value = config.effective_database_url
        rows.append(
            {
                "setting": name,
                "env": f"ERRLOG_{name.upper()}",
                "value": _masked(name, value),
                "source": sources.get(name, "default"),
            }
        )
    if as_json:
        echo_json({"config_file": str(config_file), "config_file_exists": config_file.is_file(), "settings": rows})
        return
    click.echo(f"config file: {config_file}{'' if config_file.is_file() else ' (not present)'}")
    echo_table(("SETTING", "VALUE", "SOURCE"), [(r["env"], _text(r["value"]), r["source"]) for r in rows])


def _text(value: Any) -> str | None:
    if isinstance(value, list | tuple):
        return ", ".join(map(str, value)) or None
    return None if value is None else str(value)


def _sources() -> dict[str, str]:
    """Setting name -> where its value came from, asking the sources Settings itself is built from, in its order
    of precedence (the first source holding a key wins)."""
    chain: tuple[PydanticBaseSettingsSource, ...] = Settings.settings_customise_sources(
        Settings,
        InitSettingsSource(Settings, init_kwargs={}),
        EnvSettingsSource(Settings),
        DotEnvSettingsSource(Settings),
        SecretsSettingsSource(Settings),
    )
    found: dict[str, str] = {}
    for source in chain:
        if isinstance(source, EnvSettingsSource):
            label = "environment"
        elif isinstance(source, TomlConfigSettingsSource):
            label = "config file"
        else:
            label = type(source).__name__
        for name in source():
            found.setdefault(name, label)
    return found


def _masked(name: str, value: Any) -> Any:
    """The value fit to print: credentials replaced by a mask, URLs keeping all but their password."""
    if isinstance(value, SecretStr) or (isinstance(value, str) and SECRET_NAME.search(name)):
        return MASK
    if isinstance(value, Path):
        return str(value)
    if not isinstance(value, str):
        return value
    parts = urlsplit(value)
    if parts.password:
        # Keep the user and host so the reader can tell which server it is.
        netloc = f"{parts.username or ''}:{MASK}@{parts.netloc.rpartition('@')[2]}"
        return urlunsplit(parts._replace(netloc=netloc))
    return value
