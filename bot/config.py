"""Configuration from the environment (and an optional .env), checked at start-up.

A wrong value stops the process with one line naming the variable, never a traceback.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, time
from typing import Annotated, Literal
from urllib.parse import parse_qs, unquote, urlsplit

from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from handlers.core.context import NO_REPLY, Plan, Rules
from handlers.core.i18n import t

HOURS = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


class ConfigError(Exception):
    """One line for the operator: which variable is wrong, and why."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True
    )

    database_url: str = Field(
        default="sqlite:///dxdesk.db",
        description=(
            "SQLite file (zero set-up, migrated on first use) or "
            "postgresql://user@host/db (production; run `python -m bot "
            "migrate` first)."
        ),
        validation_alias=AliasChoices("DATABASE_URL"),
    )
    language: Literal["ja", "en"] = Field(
        default="ja",
        description=(
            "Default language of messages, `ja` or `en`; each person may choose their own."
        ),
        validation_alias=AliasChoices("DXDESK_LANGUAGE"),
    )
    office_hours: Annotated[tuple[time, time], NoDecode] = Field(
        default=(time(9, 0), time(17, 0)),
        description="Bookable hours on business days, `HH:MM-HH:MM`.",
        validation_alias=AliasChoices("DXDESK_OFFICE_HOURS"),
    )
    contract_start: date = Field(
        default=date(2026, 6, 1),
        description="First day of the contract period.",
        validation_alias=AliasChoices("DXDESK_CONTRACT_START"),
    )
    contract_end: date = Field(
        default=date(2027, 3, 31),
        description="Last day of the contract period (§1.2); must come after the start.",
        validation_alias=AliasChoices("DXDESK_CONTRACT_END"),
    )
    bpr_minutes: int = Field(
        default=210,
        ge=60,
        le=480,
        description=(
            "Length of one BPR visit in minutes (60–480); 210 is the specification's half day."
        ),
        validation_alias=AliasChoices("DXDESK_BPR_MINUTES"),
    )
    min_notice_days: int = Field(
        default=2,
        ge=0,
        le=20,
        description=(
            "Business days before a session after which only the prefecture may move or cancel it."
        ),
        validation_alias=AliasChoices("DXDESK_MIN_NOTICE_DAYS"),
    )
    min_gap_days: int = Field(
        default=7,
        ge=0,
        le=60,
        description=(
            "Least number of days between two sessions of one BPR municipality in the season plan."
        ),
        validation_alias=AliasChoices("DXDESK_MIN_GAP_DAYS"),
    )
    pace_tolerance: float = Field(
        default=0.2,
        ge=0.0,
        le=1.0,
        description=(
            "How far (±, a share of plan) a projected total may stray "
            "before the dashboard and the digest say to confer."
        ),
        validation_alias=AliasChoices("DXDESK_PACE_TOLERANCE"),
    )
    escalate_days: int = Field(
        default=3,
        ge=1,
        le=30,
        description=(
            "Business days a work log may be missing before the prefecture's channel is told."
        ),
        validation_alias=AliasChoices("DXDESK_ESCALATE_DAYS"),
    )
    checkin_days: int = Field(
        default=10,
        ge=1,
        le=120,
        description="Business days between check-ins on an open issue.",
        validation_alias=AliasChoices("DXDESK_CHECKIN_DAYS"),
    )
    worker_cpus: Annotated[frozenset[int] | None, NoDecode] = Field(
        default=None,
        description=(
            "CPUs for the Slack worker process (`1`, `1,3` or `2-3`); on a "
            "small machine keep it off the web process's CPUs."
        ),
        validation_alias=AliasChoices("DXDESK_WORKER_CPUS"),
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO",
        description="`DEBUG`, `INFO`, `WARNING` or `ERROR`.",
        validation_alias=AliasChoices("DXDESK_LOG_LEVEL"),
    )
    port: int = Field(
        default=3000,
        ge=1,
        le=65535,
        description="Port `serve` listens on.",
        validation_alias=AliasChoices("PORT"),
    )
    slack_bot_token: SecretStr | None = Field(
        default=None,
        description="Bot token (`xoxb-…`); enables Slack.",
        validation_alias=AliasChoices("SLACK_BOT_TOKEN"),
    )
    slack_signing_secret: SecretStr | None = Field(
        default=None,
        description="Verifies Slack's requests; required over HTTP.",
        validation_alias=AliasChoices("SLACK_SIGNING_SECRET"),
    )
    slack_app_token: SecretStr | None = Field(
        default=None,
        description="App-level token (`xapp-…`): Socket Mode instead of HTTP.",
        validation_alias=AliasChoices("SLACK_APP_TOKEN"),
    )
    slack_api_url: str = Field(
        default="https://slack.com/api/",
        description="Web API base URL (tests point it at a local fake).",
        validation_alias=AliasChoices("SLACK_API_URL"),
    )
    slack_approval_channel: str | None = Field(
        default=None,
        description="Channel id where the prefecture decides on requests.",
        validation_alias=AliasChoices("SLACK_APPROVAL_CHANNEL"),
    )
    smtp_url: SecretStr | None = Field(
        default=None,
        description=(
            "Enables invite e-mails: `smtp://[user:password@]host[:port]` "
            "(`?starttls=1` for STARTTLS) or `smtps://…` (TLS)."
        ),
        validation_alias=AliasChoices("SMTP_URL"),
    )
    mail_from: str = Field(
        default=NO_REPLY,
        description=(
            "Sender and organizer of invite e-mails; must be a real address when SMTP_URL is set."
        ),
        validation_alias=AliasChoices("DXDESK_MAIL_FROM"),
    )
    public_url: str = Field(
        default="http://localhost:3000",
        description=(
            "The address people reach `serve` at: calendar feed URLs and "
            "the desk's sign-in links (which need it set)."
        ),
        validation_alias=AliasChoices("DXDESK_PUBLIC_URL"),
    )
    # 宛先 / 提出者 of every document: e.g. 熊本県知事 様 / the contractor and its
    # representative; unset, each document uses the catalog's default wording.
    addressee: str = Field(
        default="",
        max_length=200,
        description=(
            "The addressee at the head of every document (the governor, by name); "
            "empty: the catalog's `doc.addressee`."
        ),
        validation_alias=AliasChoices("DXDESK_ADDRESSEE"),
    )
    submitter: str = Field(
        default="",
        max_length=200,
        description=(
            "The submitter under the addressee and the documents' author (the contractor"
            " and its representative); empty: the catalog's `doc.submitter`."
        ),
        validation_alias=AliasChoices("DXDESK_SUBMITTER"),
    )
    # files attached to logs and minutes: the size of each (MB), how many per log, and
    # the directory their bytes go to (unset: in the database)
    attachment_max_mb: int = Field(
        default=10,
        ge=1,
        le=100,
        description="Largest file (MB) that may be attached to a log or minutes.",
        validation_alias=AliasChoices("DXDESK_ATTACHMENT_MAX_MB"),
    )
    attachment_max_files: int = Field(
        default=5,
        ge=1,
        le=20,
        description="How many files one log or minutes may carry.",
        validation_alias=AliasChoices("DXDESK_ATTACHMENT_MAX_FILES"),
    )
    attachment_dir: str | None = Field(
        default=None,
        description=(
            "Directory the attachments' bytes are written to; unset, they are kept in the database."
        ),
        validation_alias=AliasChoices("DXDESK_ATTACHMENT_DIR"),
    )
    teams_app_id: str | None = Field(
        default=None,
        description="The Azure Bot's app id; enables Teams (needs the password and the tenant).",
        validation_alias=AliasChoices("TEAMS_APP_ID"),
    )
    teams_app_password: SecretStr | None = Field(
        default=None,
        description="The app's client secret (TEAMS_APP_SECRET also works).",
        validation_alias=AliasChoices("TEAMS_APP_PASSWORD", "TEAMS_APP_SECRET"),
    )
    teams_tenant_id: str | None = Field(
        default=None,
        description="The Entra ID tenant the app is registered in.",
        validation_alias=AliasChoices("TEAMS_TENANT_ID"),
    )
    teams_authority: str | None = Field(
        default=None,
        description=(
            "Entra ID authority of the bot's outbound tokens "
            "(`https://HOST/TENANT`, e.g. a national cloud); unset, "
            "https://login.microsoftonline.com/<TEAMS_TENANT_ID>."
        ),
        validation_alias=AliasChoices("TEAMS_AUTHORITY"),
    )
    teams_approval_channel: str | None = Field(
        default=None,
        description="Conversation id (`19:…@thread.tacv2`) of the Teams approval channel.",
        validation_alias=AliasChoices("TEAMS_APPROVAL_CHANNEL"),
    )
    teams_anonymous: bool = Field(
        default=False,
        description=(
            "Local development only: accept unsigned requests and send "
            "without a token; refused with TEAMS_APP_PASSWORD or "
            "PostgreSQL."
        ),
        validation_alias=AliasChoices("DXDESK_TEAMS_ANONYMOUS"),
    )

    @field_validator("office_hours", mode="before")
    @classmethod
    def _hours(cls, value: object) -> object:
        if isinstance(value, str):
            match = HOURS.match(value)
            if not match:
                raise ValueError("expected HH:MM-HH:MM, e.g. 09:00-17:00")
            opens = time(int(match[1]), int(match[2]))
            closes = time(int(match[3]), int(match[4]))
            if opens >= closes:
                raise ValueError("the office must open before it closes")
            return (opens, closes)
        return value

    @field_validator("worker_cpus", mode="before")
    @classmethod
    def _cpus(cls, value: object) -> object:
        """ "1", "1,3" or "2-3": the CPUs the Slack worker may use."""
        if not isinstance(value, str):
            return value
        if not value.strip():
            return None
        cpus: set[int] = set()
        for part in value.split(","):
            first, _, last = part.strip().partition("-")
            if not first.isdigit() or (last and not last.isdigit()):
                raise ValueError("expected CPU numbers such as 1, 1,3 or 2-3")
            cpus.update(range(int(first), int(last or first) + 1))
        return frozenset(cpus)

    @field_validator("database_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not re.match(r"^(sqlite|postgresql|postgres)(\+\w+)?://", value):
            raise ValueError("expected sqlite:///FILE or postgresql://USER@HOST/DB")
        return value

    @field_validator("smtp_url", mode="before")
    @classmethod
    def _smtp(cls, value: object) -> object:
        if isinstance(value, str) and value:
            smtp_server(value)  # raises ValueError with the reason
        return value or None

    @field_validator("mail_from")
    @classmethod
    def _mail_from(cls, value: str) -> str:
        if not re.fullmatch(r"[^@\s<>]+@[^@\s<>]+", value.strip()):
            raise ValueError("expected an e-mail address such as dxdesk@example.jp")
        return value.strip()

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str) -> str:
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("expected http(s)://HOST[:PORT], e.g. https://dxdesk.example.jp")
        return value.strip().rstrip("/")

    @field_validator("teams_authority")
    @classmethod
    def _teams_authority(cls, value: str | None) -> str | None:
        """The Entra ID authority the bot's outbound tokens come from (MSAL, client
        credentials); unset, https://login.microsoftonline.com/<TEAMS_TENANT_ID>."""
        if not value or not value.strip():
            return None
        parts = urlsplit(value.strip())
        if parts.scheme != "https" or not parts.hostname or not parts.path.strip("/"):
            raise ValueError(
                "expected https://HOST/TENANT, e.g. https://login.microsoftonline.us/TENANT_ID"
            )
        return value.strip().rstrip("/")

    @model_validator(mode="after")
    def _period(self) -> Settings:
        if self.contract_end <= self.contract_start:
            raise ValueError("DXDESK_CONTRACT_END: must come after DXDESK_CONTRACT_START")
        return self

    @model_validator(mode="after")
    def _slack(self) -> Settings:
        if self.slack_bot_token and not self.slack_bot_token.get_secret_value().startswith("xoxb-"):
            raise ValueError("SLACK_BOT_TOKEN: expected a bot token starting with xoxb-")
        if self.slack_app_token and not self.slack_app_token.get_secret_value().startswith("xapp-"):
            raise ValueError("SLACK_APP_TOKEN: expected an app-level token starting with xapp-")
        if self.slack_bot_token and not (self.slack_signing_secret or self.slack_app_token):
            raise ValueError("SLACK_SIGNING_SECRET: required with SLACK_BOT_TOKEN over HTTP")
        if self.slack_api_url and not self.slack_api_url.endswith("/"):
            self.slack_api_url += "/"
        return self

    @model_validator(mode="after")
    def _teams(self) -> Settings:
        """Anonymous mode (no JWT validation, no outbound token) is for a local emulator
        only: refused next to production settings, so it cannot be left on by mistake."""
        if self.teams_anonymous:
            if self.teams_app_password:
                raise ValueError(
                    "DXDESK_TEAMS_ANONYMOUS: local development only; unset it or TEAMS_APP_PASSWORD"
                )
            if self.database_url.startswith("postgres"):
                raise ValueError(
                    "DXDESK_TEAMS_ANONYMOUS: local development only, refused with a "
                    "PostgreSQL DATABASE_URL"
                )
        elif self.teams_app_id and not (self.teams_app_password and self.teams_tenant_id):
            raise ValueError(
                "TEAMS_APP_PASSWORD: TEAMS_APP_ID needs TEAMS_APP_PASSWORD and TEAMS_TENANT_ID"
            )
        return self

    @property
    def teams_enabled(self) -> bool:
        return self.teams_app_id is not None or self.teams_anonymous

    @property
    def slack_enabled(self) -> bool:
        return self.slack_bot_token is not None

    @property
    def smtp(self) -> SmtpServer | None:
        return smtp_server(self.smtp_url.get_secret_value()) if self.smtp_url else None

    def secrets(self) -> list[str]:
        """Every credential the settings hold, for the log masks (bot/runtime/redact.py)."""
        held = (
            self.slack_bot_token,
            self.slack_signing_secret,
            self.slack_app_token,
            self.teams_app_password,
            self.smtp_url,
        )
        values = [secret.get_secret_value() for secret in held if secret is not None]
        urls = [self.database_url, self.smtp_url.get_secret_value() if self.smtp_url else ""]
        values += [unquote(urlsplit(url).password or "") for url in urls]
        return [value for value in values if value]

    @property
    def public_url_set(self) -> bool:
        """Whether DXDESK_PUBLIC_URL was given (its default only suits one machine)."""
        return "public_url" in self.model_fields_set

    def rules(self) -> Rules:
        return Rules(
            language=self.language,
            office_open=self.office_hours[0],
            office_close=self.office_hours[1],
            contract_start=self.contract_start,
            contract_end=self.contract_end,
            public_url=self.public_url,
            desk_url=self.public_url if "public_url" in self.model_fields_set else None,
            organizer_email=self.mail_from,
            addressee=self.addressee.strip(),
            submitter=self.submitter.strip(),
            attachment_max_bytes=self.attachment_max_mb * 1024 * 1024,
            attachment_max_files=self.attachment_max_files,
            attachment_dir=self.attachment_dir or None,
            min_notice_business_days=self.min_notice_days,
            min_gap_days=self.min_gap_days,
            escalate_after_days=self.escalate_days,
            checkin_every_days=self.checkin_days,
            plan=Plan(bpr_minutes=self.bpr_minutes, pace_tolerance=self.pace_tolerance),
        )


ENV_NAMES = {
    "database_url": "DATABASE_URL",
    "language": "DXDESK_LANGUAGE",
    "office_hours": "DXDESK_OFFICE_HOURS",
    "contract_start": "DXDESK_CONTRACT_START",
    "contract_end": "DXDESK_CONTRACT_END",
    "log_level": "DXDESK_LOG_LEVEL",
    "worker_cpus": "DXDESK_WORKER_CPUS",
    "bpr_minutes": "DXDESK_BPR_MINUTES",
    "min_notice_days": "DXDESK_MIN_NOTICE_DAYS",
    "min_gap_days": "DXDESK_MIN_GAP_DAYS",
    "pace_tolerance": "DXDESK_PACE_TOLERANCE",
    "escalate_days": "DXDESK_ESCALATE_DAYS",
    "checkin_days": "DXDESK_CHECKIN_DAYS",
    "port": "PORT",
    "slack_bot_token": "SLACK_BOT_TOKEN",
    "slack_signing_secret": "SLACK_SIGNING_SECRET",
    "slack_app_token": "SLACK_APP_TOKEN",
    "slack_api_url": "SLACK_API_URL",
    "slack_approval_channel": "SLACK_APPROVAL_CHANNEL",
    "smtp_url": "SMTP_URL",
    "mail_from": "DXDESK_MAIL_FROM",
    "public_url": "DXDESK_PUBLIC_URL",
    "addressee": "DXDESK_ADDRESSEE",
    "submitter": "DXDESK_SUBMITTER",
    "attachment_max_mb": "DXDESK_ATTACHMENT_MAX_MB",
    "attachment_max_files": "DXDESK_ATTACHMENT_MAX_FILES",
    "attachment_dir": "DXDESK_ATTACHMENT_DIR",
    "teams_app_id": "TEAMS_APP_ID",
    "teams_app_password": "TEAMS_APP_PASSWORD",
    "teams_tenant_id": "TEAMS_TENANT_ID",
    "teams_authority": "TEAMS_AUTHORITY",
    "teams_approval_channel": "TEAMS_APPROVAL_CHANNEL",
    "teams_anonymous": "DXDESK_TEAMS_ANONYMOUS",
}


@dataclass(frozen=True)
class SmtpServer:
    """Where invites are mailed: `smtp://` (plain, or STARTTLS with `?starttls=1`) or
    `smtps://` (TLS from the first byte); user and password are optional."""

    host: str
    port: int
    security: Literal["none", "starttls", "tls"]
    username: str | None = None
    password: str | None = None


def smtp_server(url: str) -> SmtpServer:
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ValueError("expected smtp://[USER:PASSWORD@]HOST[:PORT] or smtps://…")
    try:
        port = parts.port
    except ValueError:
        raise ValueError("the port must be a number from 1 to 65535") from None
    query = parse_qs(parts.query)
    starttls = query.get("starttls", ["0"])[0].lower() in ("1", "true", "yes")
    if parts.scheme == "smtps":
        security: Literal["none", "starttls", "tls"] = "tls"
    else:
        security = "starttls" if starttls else "none"
    return SmtpServer(
        host=parts.hostname,
        port=port or (465 if security == "tls" else 587 if starttls else 25),
        security=security,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


def load() -> Settings:
    try:
        settings = Settings()
    except ValidationError as error:
        first = error.errors()[0]
        location = first["loc"][0] if first["loc"] else ""
        message = first["msg"].removeprefix("Value error, ")
        if location:
            message = f"{ENV_NAMES.get(str(location), str(location))}: {message}"
        raise ConfigError(f"configuration error: {message}") from None
    if settings.smtp_url is not None and not deliverable(settings.mail_from):
        # invites by e-mail from an address nobody owns: replies and bounces vanish
        raise ConfigError(t(settings.language, "cli.mail.organizer", address=settings.mail_from))
    return settings


RESERVED_NAMES = frozenset({"example", "localhost", "localdomain", "invalid", "test", "local"})
"""Domain labels that name no real mailbox (RFC 2606, RFC 6761, example.jp and the like)."""


def deliverable(address: str) -> bool:
    """Whether invites may be mailed from `address`: a domain of at least two labels,
    none of them reserved for examples or local use (dxdesk@localhost, …@pref.example.jp,
    the default noreply@dxdesk.invalid)."""
    labels = address.rpartition("@")[2].casefold().rstrip(".").split(".")
    return len(labels) >= 2 and not RESERVED_NAMES.intersection(labels)
