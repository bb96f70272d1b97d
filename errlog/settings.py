"""The one place that reads errlog's configuration: ERRLOG_* environment variables and an optional TOML file."""

from __future__ import annotations

import json
import os
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import platformdirs
from pydantic import Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

APP_NAME = "errlog"


class SettingsError(Exception):
    """Configuration that cannot be used, with a message naming the setting."""


def default_config_file() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME)) / "config.toml"


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME))


def _config_file_from_env() -> Path:
    explicit = os.environ.get("ERRLOG_CONFIG")
    return Path(explicit).expanduser() if explicit else default_config_file()


class Settings(BaseSettings):
    """errlog's settings. Each field is `ERRLOG_<NAME>` in the environment or `<name>` in the TOML file.

    The environment wins over the file; the file wins over the defaults.
    """

    model_config = SettingsConfigDict(
        env_prefix="ERRLOG_",
        extra="ignore",
        frozen=True,
        populate_by_name=True,
    )

    config: Path | None = Field(
        default=None,
        description="Path of the optional TOML file holding these same keys (default: the user config dir's "
        "errlog/config.toml). Environment only.",
    )
    data_dir: Path = Field(
        default_factory=default_data_dir,
        description="Folder of the embedded default's files: the SQLite database and the SQLite task queue.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the database, e.g. postgresql+psycopg://user:pw@host/errlog. "
        "Default: SQLite file errlog.db in the data dir.",
    )
    redis_url: str | None = Field(
        default=None,
        description="Redis URL for the task queue, shared rate limits and locks, e.g. redis://127.0.0.1:6379/0. "
        "Default: tasks on SQLite in the data dir, rate limits in memory.",
    )
    mongo_url: str | None = Field(
        default=None,
        description="MongoDB URL of the optional event archive, e.g. mongodb://127.0.0.1:27017/errlog. "
        "Default: full payloads stay in the SQL database.",
    )
    public_url: str = Field(
        default="http://127.0.0.1:8000",
        description="Base URL services and people reach the collector at; put into DSNs and links.",
    )
    retention_days: int = Field(
        default=90, ge=1, description="Events older than this many days are deleted; issues keep their counts."
    )
    trusted_proxies: str = Field(
        default="127.0.0.1",
        description="Addresses of reverse proxies whose X-Forwarded-For / X-Forwarded-Proto are believed, "
        "comma-separated, or * for any (only behind a proxy that sets them).",
    )
    rate_limit_per_key: int = Field(
        default=0,
        ge=0,
        description="Events per minute one ingest key (DSN or webhook token) may send; 0 means no limit. "
        "A key's own limit (set per key in the database) wins.",
    )
    rate_limit_per_project: int = Field(
        default=0, ge=0, description="Events per minute one project may send over all its keys; 0 means no limit."
    )
    ingest_max_pending: int = Field(
        default=10_000,
        ge=1,
        description="Events a collector process holds waiting for storage; past it ingest answers 503 with "
        "Retry-After instead of growing memory.",
    )
    ingest_batch_size: int = Field(
        default=250, ge=1, le=1000, description="Most events committed in one transaction (group commit)."
    )
    scrub_extra_keys: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="More keys whose values are scrubbed, comma-separated (matched loosely, like the built-in "
        "password, token, cookie... list).",
    )
    scrub_extra_patterns: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Regular expressions whose matches in any value are scrubbed: comma-separated, or a JSON "
        'list such as ["a{2,3}", "b"] when a pattern holds a comma.',
    )
    scrub_safe_fields: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Keys never scrubbed, comma-separated (e.g. a harmless 'token_count')."
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=_config_file_from_env())
        return (init_settings, env_settings, toml)

    @field_validator("scrub_extra_keys", "scrub_safe_fields", "scrub_extra_patterns", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):
            if value.lstrip().startswith("["):  # a JSON list, for patterns that contain commas
                return json.loads(value)
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("database_url", "redis_url", "mongo_url", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        # docker compose and shells pass `ERRLOG_MONGO_URL=` for "not configured".
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("public_url")
    @classmethod
    def _public_url_is_http(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL with a host, e.g. http://errlog.example.com")
        return value.rstrip("/")

    @field_validator("database_url")
    @classmethod
    def _database_url_has_scheme(cls, value: str | None) -> str | None:
        if value is not None and "://" not in value:
            raise ValueError("must be an SQLAlchemy URL such as sqlite:///path/errlog.db or postgresql+psycopg://...")
        return value

    @cached_property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'errlog.db'}"

    @property
    def huey_sqlite_path(self) -> Path:
        return self.data_dir / "tasks.db"

    @property
    def uses_embedded_database(self) -> bool:
        return self.effective_database_url.startswith("sqlite")

    def dsn_for(self, public_key: str, project_id: int) -> str:
        """The Sentry DSN a service uses: http://<public_key>@<host>[:<port>]<path>/<project_id>."""
        parts = urlsplit(self.public_url)
        netloc = parts.hostname or ""
        if parts.port:
            netloc += f":{parts.port}"
        return f"{parts.scheme}://{public_key}@{netloc}{parts.path}/{project_id}"


def setting_docs() -> list[tuple[str, str, str]]:
    """(environment variable, default, description) of every setting, for docs and --help."""
    rows = []
    for name, field in Settings.model_fields.items():
        default: Any = field.default
        if field.default_factory is not None:
            # Machine-independent wording, so generated docs are the same everywhere.
            default = "the user data dir, e.g. ~/.local/share/errlog on Linux" if name == "data_dir" else ""
        elif isinstance(default, list):
            default = ",".join(default)
        rows.append((f"ERRLOG_{name.upper()}", "" if default is None else str(default), field.description or ""))
    return rows


def load_settings(**overrides: Any) -> Settings:
    """Read the settings, turning any invalid value into one SettingsError naming the key."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(
            f"ERRLOG_{'.'.join(str(p) for p in err['loc']).upper()}: {err['msg']}" for err in exc.errors()
        )
        raise SettingsError(f"invalid configuration: {problems}") from None
    except (OSError, ValueError) as exc:  # unreadable or malformed TOML file
        raise SettingsError(f"cannot read config file {_config_file_from_env()}: {exc}") from None


def settings_markdown_table() -> str:
    """The settings as a Markdown table, as README.md and the deployment guide carry it."""
    lines = ["| Variable | Default | What it does |", "|---|---|---|"]
    for name, default, description in setting_docs():
        lines.append(f"| `{name}` | {f'`{default}`' if default else '(unset)'} | {description} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(settings_markdown_table())
