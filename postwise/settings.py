"""Postwise settings: one pydantic-settings class, read from the environment and `.env`.

Everything configurable lives here and is documented in README.md's configuration table.
Build it through :func:`get_settings` (cached); tests call ``get_settings.cache_clear()``
after changing the environment.
"""

from __future__ import annotations

import base64
import functools
import hashlib
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PLACEHOLDER_SECRETS = frozenset({"", "change-me", "changeme", "secret", "placeholder"})

# Fixed development keys: usable only when POSTWISE_ENV=development (refused otherwise).
_DEV_KEY_ENCRYPTION_KEY = base64.b64encode(b"postwise-development-kek-32bytes").decode()
_DEV_BLIND_INDEX_KEY = base64.b64encode(b"postwise-development-blind-index").decode()
_DEV_SECRET_KEY = "change-me"

DEFAULT_REGIONS = ("na", "eu", "apac")
# Loopback ports of the simulated ESPs that the default routes point at.
DEFAULT_SIMULATED_ESP_PORTS = {"primary": 2525, "frankfurt": 2526, "virginia": 2527}


class SettingsError(ValueError):
    """Settings that cannot be used (placeholder secrets in production, unknown regions)."""


class RouteSettings(BaseModel):
    """One SMTP route (an ESP endpoint) as configured in ``ROUTES``."""

    host: str
    port: int = Field(ge=1, le=65535)
    regions: tuple[str, ...]  # recipient regions whose data the route may carry
    tls: Literal["starttls", "implicit", "none"] = "starttls"
    username: str | None = None
    password: str | None = None
    max_connections: int = Field(10, ge=1)
    rate_per_second: float = Field(100.0, gt=0)
    min_tls: Literal["1.2", "1.3"] = "1.2"  # the oldest TLS version accepted
    ca_file: str | None = None  # CA bundle to verify the server with (default: the system's)


class DkimKeySettings(BaseModel):
    """A DKIM signing key of a sending domain: PEM (RSA) or the base64 seed (Ed25519)."""

    selector: str
    algorithm: Literal["rsa", "ed25519"]
    private_key: str


class Settings(BaseSettings):
    """All of Postwise's configuration; field names map to upper-case environment variables."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    postwise_env: Literal["development", "test", "production"] = "development"
    postwise_home: Path = Path(".postwise")

    database_url: str | None = None
    redis_url: str | None = None
    database_prefix: str = Field("postwise", pattern=r"^[a-z][a-z0-9_]{0,40}$")
    control_database_url: str | None = None
    region_database_urls: dict[str, str] = Field(default_factory=dict)
    regions: Annotated[tuple[str, ...], NoDecode] = DEFAULT_REGIONS
    default_region: str = "na"

    key_encryption_key: str = _DEV_KEY_ENCRYPTION_KEY
    # Key rotation: the current KEK's version, and older KEKs kept until `postwise keys
    # rotate` has re-wrapped every data key under the current one.
    key_encryption_key_version: int = Field(1, ge=1)
    previous_key_encryption_keys: dict[int, str] = Field(default_factory=dict)
    blind_index_key: str = _DEV_BLIND_INDEX_KEY
    # The audit chain's external anchor: signed checkpoints in a write-once directory.
    audit_checkpoint_dir: Path | None = None  # default: <POSTWISE_HOME>/audit-checkpoints
    audit_signing_key_file: Path | None = None  # default: <POSTWISE_HOME>/keys/audit.pem
    # The weekly controls report: where it is written, and the thresholds it checks.
    controls_report_dir: Path | None = None  # default: <POSTWISE_HOME>/reports/controls
    audit_checkpoint_max_age_hours: int = Field(2, ge=1)  # checkpoints are hourly
    api_key_rotation_days: int = Field(90, ge=1)
    tls_minimum_version: Literal["1.2", "1.3"] = "1.2"  # the oldest TLS a route may accept
    secret_key: str = _DEV_SECRET_KEY

    event_retention_days: int = Field(400, ge=1)
    partitions_ahead_days: int = Field(14, ge=1, le=366)
    # Cold-storage archive: event partitions past EVENT_RETENTION_DAYS go to Parquet here
    # before they are dropped. A directory path or file:// URL, or s3://bucket/prefix for
    # any S3-compatible store (endpoint and credentials below; None: the AWS defaults).
    archive_url: str | None = None  # default: <POSTWISE_HOME>/archive
    archive_s3_endpoint: str | None = None  # e.g. http://127.0.0.1:9000 (MinIO, Ceph...)
    archive_s3_access_key: str | None = None
    archive_s3_secret_key: str | None = None
    archive_s3_region: str = "us-east-1"

    mlflow_tracking_uri: str | None = None
    dagster_home: Path | None = None
    # Dashboards: users log in through the API (its lockout, risk checks and second
    # factors apply); the MLflow and Dagster UIs they link to.
    dashboard_api_url: str = "http://127.0.0.1:8000"
    dashboard_session_check_seconds: float = Field(60.0, gt=0)  # re-ask the API who it is
    mlflow_ui_url: str = "http://127.0.0.1:5000"

    # Delivery: routes and the routing matrix (roles name routes of ROUTES).
    routes: dict[str, RouteSettings] = Field(default_factory=dict)
    route_primary: str = "primary"
    route_secondary_eu: str = "frankfurt"
    route_secondary_other: str = "virginia"
    route_fallback_order: Annotated[tuple[str, ...], NoDecode] = (
        "primary",
        "frankfurt",
        "virginia",
    )
    primary_volume_limit: int = Field(1000, ge=0)
    simulated_esp_ports: dict[str, int] = Field(
        default_factory=lambda: dict(DEFAULT_SIMULATED_ESP_PORTS)
    )
    smtp_timeout_seconds: float = Field(30.0, gt=0)
    # Delivery workers.
    worker_concurrency: int = Field(8, ge=1)
    worker_batch_size: int = Field(50, ge=1)
    worker_lease_seconds: float = Field(60.0, ge=1)
    worker_poll_seconds: float = Field(1.0, gt=0)
    # Manual override switches (delivery/switches): each worker checks a Redis version
    # counter this often and reloads on a change, so a switch is in force within about a
    # second; without Redis it reloads from the control database every poll interval.
    switch_check_seconds: float = Field(0.5, gt=0)
    switch_db_poll_seconds: float = Field(5.0, gt=0)
    # A message a pause switch holds is handed back and due again after this long.
    switch_recheck_seconds: float = Field(5.0, gt=0)
    retry_first_delay_seconds: float = Field(7200.0, ge=0)
    warmup_days: int = Field(14, ge=0)
    warmup_start_per_hour: int = Field(50, ge=1)
    warmup_daily_growth: float = Field(1.4, ge=1)
    provider_rate_per_second: float = Field(200.0, gt=0)
    tracking_base_url: str = "http://127.0.0.1:8000"
    bounce_domain: str = "bounces.postwise.localhost"
    dkim_keys: dict[str, list[DkimKeySettings]] = Field(default_factory=dict)
    # Fallback channel (delivery/fallback): the SMS gateway speaking the Twilio Messages
    # API that carries secure links to exhausted messages' PDFs, for campaigns that opt in.
    # No URL: no gateway, and opted-in messages that exhaust email end failed.
    fallback_gateway_url: str = ""  # e.g. https://api.twilio.com
    fallback_gateway_account_sid: str = ""
    fallback_gateway_auth_token: str = ""
    fallback_gateway_from: str = ""  # the sender number (E.164) the SMS come from
    fallback_gateway_timeout_seconds: float = Field(10.0, gt=0)
    fallback_gateway_attempts: int = Field(3, ge=1, le=10)  # tries on timeouts, 5xx and 429
    # How long a secure link (and the sealed PDF behind it) stays valid: a week.
    fallback_link_ttl_seconds: int = Field(7 * 24 * 3600, ge=60)
    # API and tracking endpoints.
    api_db_pool_size: int = Field(10, ge=1)
    api_forwarded_allow_ips: str = "127.0.0.1"
    # Ingestion limits (POST /v1/messages) and contacts import.
    ingest_max_request_bytes: int = Field(10 * 1024 * 1024, ge=1024)
    ingest_max_content_bytes: int = Field(256 * 1024, ge=1024)
    ingest_max_variables_bytes: int = Field(32 * 1024, ge=256)
    ingest_max_batch: int = Field(1000, ge=1, le=10_000)
    import_max_bytes: int = Field(512 * 1024 * 1024, ge=1024)
    import_chunk_rows: int = Field(500, ge=1, le=10_000)
    # Spam traps: an import is quarantined for review when its trap hits reach both the
    # count and the share of its records; a contact mailed TRAP_BEHAVIOUR_MIN_SENDS times over
    # TRAP_BEHAVIOUR_MIN_DAYS days that never engaged, bounced or complained is a suspect.
    trap_quarantine_min_hits: int = Field(3, ge=1)
    trap_quarantine_ratio: float = Field(0.01, ge=0, le=1)
    trap_behaviour_min_sends: int = Field(12, ge=2)
    trap_behaviour_min_days: int = Field(60, ge=1)
    tracking_scanner_window_seconds: float = Field(10.0, ge=0)
    tracking_dedupe_seconds: int = Field(300, ge=1)
    tracking_scanner_memory_seconds: int = Field(3600, ge=1)
    # API resilience, rate limits, user tokens, model serving and metrics.
    api_request_timeout_seconds: float = Field(10.0, gt=0)
    breaker_failure_threshold: int = Field(5, ge=1)
    breaker_cool_down_seconds: float = Field(30.0, gt=0)
    rate_limit_window_seconds: float = Field(60.0, gt=0)
    rate_limit_per_key: int = Field(1200, ge=0)  # per window; 0 turns the limit off
    rate_limit_per_org: int = Field(6000, ge=0)
    rate_limit_logins: int = Field(10, ge=0)  # per address and client, per window
    jwt_access_ttl_seconds: int = Field(900, ge=60)
    jwt_refresh_ttl_seconds: int = Field(7 * 86400, ge=300)
    model_refresh_seconds: float = Field(300.0, gt=0)
    model_load_wait_seconds: float = Field(2.0, ge=0)
    metrics_token: str | None = None  # None: /metrics answers loopback clients only
    # Sending-domain prechecks (SPF, DMARC, DNSBL) and webhooks.
    dns_resolver_address: str | None = None  # None: the system's resolver
    dns_resolver_port: int = Field(53, ge=1, le=65535)
    dns_timeout_seconds: float = Field(2.0, gt=0)
    dnsbl_zones: Annotated[tuple[str, ...], NoDecode] = ("zen.spamhaus.org",)
    domain_checks_cache_seconds: int = Field(900, ge=1)
    esp_webhook_secrets: dict[str, str] = Field(default_factory=dict)  # route -> secret
    esp_webhook_tolerance_seconds: int = Field(300, ge=1)
    webhook_max_attempts: int = Field(8, ge=1, le=30)
    webhook_backoff_seconds: float = Field(30.0, gt=0)
    webhook_timeout_seconds: float = Field(10.0, gt=0)
    webhook_allow_private_targets: bool = False  # http and private addresses (tests, on-prem)
    # Administrator security: second factors (WebAuthn relying party: the dashboard's site and
    # origins) and break-glass grants (longest allowed).
    webauthn_rp_id: str = "localhost"
    webauthn_rp_name: str = "Postwise"
    webauthn_origins: list[str] = Field(default_factory=lambda: ["http://localhost:8000"])
    mfa_ticket_seconds: int = Field(300, ge=30, le=3600)
    # Account protection (serving/auth/protection). Failed logins are counted per address
    # and per client over the window; this many failures of one address lock it.
    login_failure_window_seconds: int = Field(900, ge=1)
    login_lock_after_failures: int = Field(5, ge=1)
    login_lock_seconds: int = Field(300, ge=1)  # the first lock; doubled per lock in a day
    login_lock_max_seconds: int = Field(86400, ge=1)
    login_client_failures: int = Field(100, ge=0)  # per client per window; 0: no throttle
    # Header a trusted proxy sets to the client's ISO country (Cloudflare's). Only right
    # behind a proxy that overwrites it; "" turns the impossible-travel signal off.
    login_country_header: str = "CF-IPCountry"
    # The login-risk score (weights in serving/auth/protection/risk.py): at or over
    # challenge_at the second factor is demanded, at or over block_at the login is refused.
    login_risk_challenge_at: int = Field(40, ge=1)
    login_risk_block_at: int = Field(90, ge=1)
    login_risk_max_travel_kmh: float = Field(900.0, gt=0)  # faster between logins: impossible
    login_risk_min_history: int = Field(10, ge=1)  # past logins before hours can be unusual
    login_risk_burst_failures: int = Field(3, ge=0)  # recent failures making a burst; 0: off
    break_glass_max_minutes: int = Field(240, ge=1, le=7 * 24 * 60)
    # Consent: how long an opt-in confirmation link works; the consent policy in force.
    opt_in_token_ttl_seconds: int = Field(48 * 3600, ge=60)
    consent_policy_version: str = Field("v1", min_length=1, max_length=40)

    @field_validator("regions", mode="before")
    @classmethod
    def _split_regions(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip().lower() for part in value.split(",") if part.strip())
        return value

    @field_validator("dnsbl_zones", mode="before")
    @classmethod
    def _split_zones(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("route_fallback_order", mode="before")
    @classmethod
    def _split_route_order(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @model_validator(mode="after")
    def _check(self) -> Settings:
        if self.default_region not in self.regions:
            raise SettingsError(f"DEFAULT_REGION {self.default_region!r} is not in REGIONS")
        unknown = set(self.region_database_urls) - set(self.regions)
        if unknown:
            raise SettingsError(f"REGION_DATABASE_URLS names unknown regions: {sorted(unknown)}")
        if self.postwise_env != "development":
            self._refuse_placeholder_secrets()
        self._check_routes()
        return self

    def _check_routes(self) -> None:
        routes = self.delivery_routes
        roles = (
            self.route_primary,
            self.route_secondary_eu,
            self.route_secondary_other,
            *self.route_fallback_order,
        )
        unknown = sorted({name for name in roles if name not in routes})
        if unknown:
            raise SettingsError(
                f"the routing roles name routes missing from ROUTES: {unknown} "
                f"(configured: {sorted(routes)})"
            )
        for name, route in routes.items():
            strange = set(route.regions) - set(self.regions)
            if strange:
                raise SettingsError(f"route {name!r} serves unknown regions {sorted(strange)}")

    @property
    def delivery_routes(self) -> dict[str, RouteSettings]:
        """ROUTES, or by default the three simulated ESPs on loopback: ``primary`` (every
        region), ``frankfurt`` (EU) and ``virginia`` (everyone else)."""
        if self.routes:
            return dict(self.routes)
        ports = {**DEFAULT_SIMULATED_ESP_PORTS, **self.simulated_esp_ports}
        others = tuple(region for region in self.regions if region != "eu")
        served = {"primary": tuple(self.regions), "frankfurt": ("eu",), "virginia": others}
        return {
            name: RouteSettings(host="127.0.0.1", port=ports[name], regions=regions, tls="none")
            for name, regions in served.items()
        }

    @property
    def tracking_secret(self) -> str:
        """The key tracking tokens are signed with: SECRET_KEY, or in development with the
        short placeholder a stable key derived from it (signers need 16 characters)."""
        if len(self.secret_key) >= 16 or self.postwise_env != "development":
            return self.secret_key
        return hashlib.sha256(b"postwise-tracking|" + self.secret_key.encode()).hexdigest()

    def _refuse_placeholder_secrets(self) -> None:
        defaults = {
            "KEY_ENCRYPTION_KEY": _DEV_KEY_ENCRYPTION_KEY,
            "BLIND_INDEX_KEY": _DEV_BLIND_INDEX_KEY,
            "SECRET_KEY": _DEV_SECRET_KEY,
        }
        for name, dev_value in defaults.items():
            value = getattr(self, name.lower())
            if value.strip().lower() in PLACEHOLDER_SECRETS or value == dev_value:
                raise SettingsError(
                    f"{name} has a placeholder value; set a real secret "
                    f"(refused when POSTWISE_ENV={self.postwise_env})"
                )

    @property
    def key_encryption_keys(self) -> dict[int, str]:
        """Every configured KEK by version: the current one and those kept for rotation."""
        if self.key_encryption_key_version in self.previous_key_encryption_keys:
            raise SettingsError(
                f"PREVIOUS_KEY_ENCRYPTION_KEYS also names the current version "
                f"{self.key_encryption_key_version}"
            )
        return {
            **self.previous_key_encryption_keys,
            self.key_encryption_key_version: self.key_encryption_key,
        }

    @property
    def checkpoint_directory(self) -> Path:
        """Where signed audit checkpoints are written (write-once files)."""
        return (self.audit_checkpoint_dir or self.home / "audit-checkpoints").resolve()

    @property
    def controls_report_directory(self) -> Path:
        """Where controls reports are written."""
        return (self.controls_report_dir or self.home / "reports" / "controls").resolve()

    @property
    def checkpoint_key_file(self) -> Path:
        """The P-521 private key (PEM) audit checkpoints are signed with."""
        return (self.audit_signing_key_file or self.home / "keys" / "audit.pem").resolve()

    @property
    def archive_location(self) -> str:
        """Where archived event partitions are written: ARCHIVE_URL or a home directory."""
        return self.archive_url or str(self.home / "archive")

    @property
    def home(self) -> Path:
        """Absolute path of the local state folder (embedded services, artifacts)."""
        return self.postwise_home.resolve()

    def database_name(self, cell: str) -> str:
        """Name of the database holding ``cell`` ("control" or a region) on the default server."""
        return f"{self.database_prefix}_{cell}"

    def cell_url(self, cell: str, server_url: str) -> str:
        """Connection URL of ``cell``: its explicit URL if configured, else a database on
        the server that ``server_url`` names."""
        if cell == "control" and self.control_database_url:
            return self.control_database_url
        if cell in self.region_database_urls:
            return self.region_database_urls[cell]
        if cell != "control" and cell not in self.regions:
            raise SettingsError(f"unknown region {cell!r}; configured regions: {self.regions}")
        return with_database(server_url, self.database_name(cell))


def with_database(url: str, database: str) -> str:
    """Return ``url`` pointing at ``database`` instead of the one it names."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + database, parts.query, parts.fragment))


@functools.cache
def get_settings() -> Settings:
    """The process-wide settings (cached; tests clear the cache after changing the env)."""
    return Settings()
