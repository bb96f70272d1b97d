"""The one place that reads errlog's configuration: ERRLOG_* environment variables and an optional TOML file."""

from __future__ import annotations

import json
import os
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
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


def _http_url_or_none(value: str) -> str | None:
    if not value.strip():
        return None
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http:// or https:// URL with a host, e.g. https://errlog.example.com")
    return value.strip().rstrip("/")


class TuiProfile(BaseModel):
    """A server errlog-tui can connect to by name (`errlog-tui --profile NAME`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    server: str
    token: SecretStr | None = None

    @field_validator("server")
    @classmethod
    def _server_is_http(cls, value: str) -> str:
        url = _http_url_or_none(value)
        if url is None:
            raise ValueError("must not be empty")
        return url


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
        default=90,
        ge=1,
        description="Days events are kept: a daily job deletes older events from the SQL database (errors keep "
        "their counts) and the MongoDB archive expires payloads after this many days (TTL index).",
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
        "A key's own limit (errlog project key set KEY_ID --rate-limit N) wins.",
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
    ingest_max_body_bytes: int = Field(
        default=128 * 1024 * 1024,
        ge=1024 * 1024,
        description="Bytes of ingest request bodies (decompressed) a collector process holds at once; past it a "
        "request answers 503 with Retry-After instead of growing memory. A request alone may always use its own "
        "limits (100 MiB for an envelope).",
    )
    ingest_batch_size: int = Field(
        default=250, ge=1, le=1000, description="Most events committed in one transaction (group commit)."
    )
    ingest_batch_wait_ms: float = Field(
        default=10,
        ge=0,
        le=1000,
        description="How long a batch waits, at most, for the events of requests still being read and prepared "
        "before it is committed: fewer, larger transactions when busy; no wait when nothing is arriving. 0: commit "
        "at once.",
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

    # ---- alerts: the task queue, delivery and the channels (tasks/) ----
    queue_name: str = Field(
        default="errlog",
        pattern=r"^[A-Za-z0-9_]{1,64}$",
        description="Name of the task queue; installations sharing one Redis use different names.",
    )
    alert_cooldown_minutes: int = Field(
        default=10,
        ge=0,
        description="After an error pages for a trigger (new, regression...), the same trigger on it stays quiet "
        "this long (the notifications are kept as suppressed), so a flapping error does not page every minute.",
    )
    daily_summary_hour: int = Field(
        default=8,
        ge=0,
        le=23,
        description="Hour of the day (in each recipient's time zone; UTC for the Slack channel) the daily summary "
        "of new, regressed and resolved errors goes out.",
    )
    notification_max_attempts: int = Field(
        default=6, ge=1, le=50, description="Delivery attempts per notification before it is given up as dead."
    )
    notification_retry_seconds: float = Field(
        default=20.0,
        ge=1,
        le=3600,
        description="Wait before the first retry of a failed delivery; it doubles with each attempt (with jitter, "
        "at most an hour), unless the service answers with Retry-After.",
    )
    notification_timeout_seconds: float = Field(
        default=10.0, gt=0, le=120, description="Timeout of one delivery attempt (connect, send, answer)."
    )
    smtp_url: str | None = Field(
        default=None,
        description="SMTP server for e-mail alerts: smtp://user:password@host:587?starttls=1 (STARTTLS), "
        "smtps://user:password@host:465 (TLS from the start) or smtp://host:25. Unset: no e-mail.",
    )
    smtp_from: str = Field(
        default="errlog@localhost", description="Sender address of alert e-mails; one your SMTP server may send as."
    )
    slack_webhook_url: SecretStr | None = Field(
        default=None,
        description="Slack incoming-webhook URL alerts are posted to (the channel it was made for), mentioning the "
        "recipient's Slack member id. Unset: no Slack.",
    )
    twilio_account_sid: str | None = Field(default=None, description="Twilio account SID for SMS alerts.")
    twilio_auth_token: SecretStr | None = Field(default=None, description="Twilio auth token for SMS alerts.")
    twilio_from: str | None = Field(
        default=None, description="Sender of SMS alerts: a Twilio phone number in E.164 form, e.g. +15005550006."
    )
    twilio_base_url: str = Field(
        default="https://api.twilio.com", description="Base URL of Twilio's REST API (tests and gateways)."
    )
    ntfy_url: str = Field(
        default="https://ntfy.sh",
        description="ntfy server push alerts are published to, on each developer's own topic.",
    )
    ntfy_token: SecretStr | None = Field(
        default=None, description="ntfy access token, for a server whose topics need one."
    )
    pushover_token: SecretStr | None = Field(
        default=None,
        description="Pushover application token; developers with a Pushover user key then get push alerts there.",
    )
    pushover_url: str = Field(default="https://api.pushover.net", description="Base URL of Pushover's API.")
    pagerduty_routing_key: SecretStr | None = Field(
        default=None, description="PagerDuty Events API v2 integration (routing) key. Unset: no PagerDuty."
    )
    pagerduty_url: str = Field(
        default="https://events.pagerduty.com", description="Base URL of PagerDuty's Events API."
    )
    webhook_url: str | None = Field(
        default=None,
        description="URL that receives every alert as signed JSON (an integration; projects can add their own).",
    )
    webhook_secret: SecretStr | None = Field(
        default=None,
        description="Key of the HMAC-SHA256 X-Errlog-Signature on outgoing webhooks (over timestamp.body). "
        "Unset: webhooks go out unsigned.",
    )
    apprise_urls: SecretStr | None = Field(
        default=None,
        description="Apprise URLs (Teams, Telegram, Discord, Matrix... see the Apprise wiki), comma or space "
        "separated, that get the alerts the routing matrix sends to the shared `apprise` channel. Needs "
        "`pip install 'errlog[apprise]'`. Unset: no Apprise.",
    )

    # ---- analysis: patterns the worker detects (tasks/analysis/) ----
    pattern_spike_min_events: int = Field(
        default=10,
        ge=1,
        description="Fewest events in an hour (or 15 minutes) that can make a spike, however quiet the error or "
        "service usually is at that time of day.",
    )
    pattern_recurring_days: int = Field(
        default=3,
        ge=2,
        description="An open error seen on at least this many distinct days of the last "
        "ERRLOG_PATTERN_RECURRING_WINDOW_DAYS is a recurring pattern.",
    )
    pattern_recurring_window_days: int = Field(
        default=7, ge=2, le=90, description="Days looked back over for recurring errors."
    )

    # ---- the terminal UI (tui/): which server it talks to, named profiles, key bindings ----
    server: str | None = Field(
        default=None,
        description="URL of the errlog server errlog-tui connects to, e.g. https://errlog.example.com. "
        "Unset: errlog-tui starts a local collector and worker on the embedded default.",
    )
    token: SecretStr | None = Field(
        default=None, description="API token errlog-tui sends to the server (from `errlog token create`)."
    )
    tui_profile: str | None = Field(
        default=None, description="Name of the tui_profiles entry errlog-tui uses when no --server/--profile is given."
    )
    tui_profiles: dict[str, TuiProfile] = Field(
        default_factory=dict,
        description="Named servers for errlog-tui --profile NAME: a TOML table [tui_profiles.NAME] with server and "
        "token (in the environment: JSON).",
    )
    tui_keymap: dict[str, str] = Field(
        default_factory=dict,
        description="errlog-tui key bindings to change: a TOML table [tui_keymap] of binding id = keys, e.g. "
        'resolve = "x" or quit = "q,ctrl+q" (ids are listed on its ? help screen).',
    )

    @field_validator("server", mode="before")
    @classmethod
    def _tui_server_is_http(cls, value: Any) -> Any:
        if isinstance(value, str):
            return _http_url_or_none(value)
        return value

    @field_validator(
        "smtp_url",
        "slack_webhook_url",
        "twilio_account_sid",
        "twilio_auth_token",
        "twilio_from",
        "ntfy_token",
        "pushover_token",
        "pagerduty_routing_key",
        "webhook_url",
        "webhook_secret",
        "apprise_urls",
        mode="before",
    )
    @classmethod
    def _unset_channel_setting(cls, value: Any) -> Any:
        # As for the URLs above: `ERRLOG_SMTP_URL=` means "no e-mail".
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("twilio_base_url", "ntfy_url", "pushover_url", "pagerduty_url", "webhook_url")
    @classmethod
    def _service_url_is_http(cls, value: str | None) -> str | None:
        if value is not None:
            parts = urlsplit(value)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError("must be an http:// or https:// URL with a host")
            return value.rstrip("/")
        return value

    @field_validator("slack_webhook_url")
    @classmethod
    def _slack_url_is_http(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(("https://", "http://")):
            raise ValueError("must be the http(s) URL of a Slack incoming webhook")
        return value

    @field_validator("smtp_url")
    @classmethod
    def _smtp_url_is_smtp(cls, value: str | None) -> str | None:
        if value is not None:
            parts = urlsplit(value)
            if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
                raise ValueError("must be smtp://[user:password@]host[:port][?starttls=1] or smtps://...")
        return value

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
