"""Settings read from the environment (DESIGN §2), validated once at start.

A missing or malformed setting stops the process with one line that names the variable and
what it expects (templates/<locale>/cli.j2): :func:`load_settings` raises :class:`ConfigError`
whose message is that line. Secrets are never echoed.
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot import render

#: Never echoed back in an error line.
SECRETS = frozenset({"SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "DATABASE_URL"})


class ConfigError(SystemExit):
    """A setting is missing or malformed; the message is the one line to print."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore")

    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_app_token: str | None = None
    database_url: str = "sqlite:///salesbot.db"
    slack_api_url: str = "https://slack.com/api/"
    port: int = Field(default=3000, ge=0, le=65535)
    salesbot_tz: str = "UTC"
    salesbot_auto_migrate: bool = True
    salesbot_locale: str = "en"
    web_concurrency: int = Field(default=1, ge=1)
    web_threads: int = Field(default=8, ge=1)
    metrics_port: int | None = Field(default=None, ge=1, le=65535)
    salesbot_log_format: Literal["text", "json"] = "text"

    @field_validator("slack_bot_token")
    @classmethod
    def _bot_token(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("xoxb-"):
            raise ValueError("must start with xoxb-")
        return value

    @field_validator("slack_app_token")
    @classmethod
    def _app_token(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("xapp-"):
            raise ValueError("must start with xapp-")
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        if not value.startswith(("sqlite://", "postgresql")):
            raise ValueError("unsupported database")
        if value.startswith("postgresql://") or value.startswith("postgres://"):
            # psycopg 3 is the driver we ship; accept the plain Heroku-style URL too.
            value = "postgresql+psycopg://" + value.split("://", 1)[1]
        return value

    @field_validator("slack_api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        parsed = urlparse(value)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValueError("not an http(s) URL")
        return value if value.endswith("/") else value + "/"

    @field_validator("salesbot_tz")
    @classmethod
    def _tz(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError("unknown timezone") from exc
        return value

    @field_validator("salesbot_locale")
    @classmethod
    def _locale(cls, value: str) -> str:
        if value not in render.LOCALES:
            raise ValueError("unknown locale")
        return value


def _one_line(error: ValidationError) -> str:
    first = error.errors()[0]
    name = str(first["loc"][0]).upper() if first["loc"] else "settings"
    given = first.get("input")
    shown = str(given) if isinstance(given, str | int) and name not in SECRETS else None
    return render.text("cli.config_malformed", None, name=name, given=shown)


def load_settings(*, require: tuple[str, ...] = (), **overrides: object) -> Settings:
    """Read the environment; ``require`` names variables this command cannot run without."""
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        raise ConfigError(_one_line(error)) from None
    for name in require:
        if not getattr(settings, name.lower()):
            raise ConfigError(render.text("cli.config_missing", None, name=name))
    return settings
