"""Settings: every knob has an environment variable and a safe default.

Values come from the process environment first, then from an optional `.env` file in the working
directory. `.env.example` at the repository root lists every setting.
"""

from functools import lru_cache
from pathlib import Path
from typing import Literal, Self
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from medbook.kernel.time import cron_every

REPO_ROOT = Path(__file__).resolve().parents[3]
# localstripe, the local stand-in for Stripe that `make run` and the tests start.
LOCALSTRIPE = "http://localhost:8420"
# Not secrets: localstripe takes any key. serve refuses them for any other gateway.
DEV_STRIPE_SECRET_KEY = "sk_test_localstripe"  # noqa: S105
DEV_STRIPE_WEBHOOK_SECRET = "whsec_localstripe_development_only"  # noqa: S105


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="MEDBOOK_",
        env_file=".env",
        env_file_encoding="utf-8",
        env_ignore_empty=True,  # `NAME=` in .env means "use the default"
        extra="ignore",
    )

    database_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("DATABASE_URL", "MEDBOOK_DATABASE_URL"),
        description="PostgreSQL URL. Unset: start the embedded server under embedded_pg_dir.",
    )
    embedded_pg_dir: Path = Field(
        default=REPO_ROOT / ".data" / "postgres",
        description="Data folder of the embedded PostgreSQL server (git-ignored, reused).",
    )
    embedded_pg_database: str = Field(
        default="medbook", description="Database on the embedded server."
    )
    db_pool_size: int = Field(default=20, ge=1, description="Connections kept per API process.")
    db_pool_overflow: int = Field(default=10, ge=0, description="Extra connections under load.")
    db_pool_timeout_seconds: float = Field(
        default=10.0, gt=0, description="How long a request waits for a free connection."
    )
    db_pool_pre_ping: bool = Field(
        default=False,
        description="Test each pooled connection before use (one extra round trip per request). "
        "Off: a dropped connection fails one request and is then replaced.",
    )
    db_lock_timeout_ms: int = Field(
        default=5000,
        ge=100,
        description="lock_timeout for booking transactions: never wait forever.",
    )

    host: str = Field(default="127.0.0.1", description="Address `medbook serve` binds to.")
    port: int = Field(default=8000, ge=1, le=65535, description="Port `medbook serve` listens on.")
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        default="info", description="Log level: debug, info, warning, error."
    )
    log_format: Literal["text", "json"] = Field(
        default="text",
        description="text: readable lines for a terminal; json: one object per line, for a log "
        "shipper (use it in production). Either way a line carries ids, routes, statuses and "
        "durations, never personal data.",
    )
    forwarded_allow_ips: str = Field(
        default="",
        description="Addresses (comma-separated, or CIDR ranges) of the load balancers whose "
        "X-Forwarded-For and X-Forwarded-Proto `medbook serve` believes. Empty: none, and the "
        "connection's own address is the client's (behind a balancer, every client would share "
        "the balancer's sign-in throttles and rate limits).",
    )

    hold_ttl_seconds: int = Field(
        default=300, ge=1, description="How long a checkout hold keeps its slot (database clock)."
    )
    max_live_holds_per_client: int = Field(
        default=3, ge=1, description="Live holds one client may keep at once."
    )
    idempotency_ttl_hours: int = Field(
        default=24, ge=1, description="How long a replayable Idempotency-Key answer is kept."
    )
    availability_max_days: int = Field(
        default=31, ge=1, description="Widest date range one availability search may ask for."
    )

    public_base_url: str = Field(
        default="http://localhost:8000",
        description="Where browsers reach us: builds the Singpass redirect URI and the allowed "
        "Origin for state-changing requests.",
    )
    web_dist_dir: Path = Field(
        default=REPO_ROOT / "src" / "frontend" / "dist",
        description="The built web app (`make web`); without it / shows the API documentation.",
    )
    keys_dir: Path = Field(
        default=REPO_ROOT / ".data" / "keys",
        description="Secret key material: the Singpass RP key set (rp-keys.json) and the data "
        "encryption key (data-key.json). `medbook keys generate` creates them. Never commit.",
    )

    singpass_profile: Literal["fapi2", "legacy_v2"] = Field(
        default="fapi2",
        description="fapi2: PAR + DPoP + PKCE (required of new Singpass apps). legacy_v2: the "
        "older authorization-code profile (MockPass 4.3 speaks only this one).",
    )
    singpass_issuer: str = Field(
        default="https://id.singpass.gov.sg/fapi",
        description="Singpass issuer; discovery is <issuer>/.well-known/openid-configuration.",
    )
    singpass_client_id: str = Field(
        default="medbook-dev", description="Our client id, as registered with Singpass."
    )
    singpass_scope: str = Field(
        default="openid user.identity",
        description="Scopes asked for (FAPI: `openid user.identity` brings the NRIC; legacy: openid).",
    )
    outbound_ca_file: Path | None = Field(
        default=None,
        description="Extra CA bundle trusted for outbound HTTPS (a private CA in tests). "
        "Unset: the system store.",
    )
    outbound_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        description="How long one step of a Singpass sign-in (its start, its finish) may wait "
        "for all its calls to Singpass together; then 503 singpass_unavailable. The payment "
        "gateway has its own, payment_gateway_timeout_seconds.",
    )

    staff_idle_minutes: int = Field(
        default=15, ge=1, description="A staff session ends after this long without a request."
    )
    patient_idle_minutes: int = Field(
        default=30, ge=1, description="A patient session ends after this long without a request."
    )
    session_absolute_hours: int = Field(
        default=12, ge=1, description="No session outlives this, however active."
    )
    # Staff sign-in throttling (ADR 0008): per email and client address, never account-wide.
    staff_sign_in_free_failures: int = Field(
        default=3,
        ge=0,
        description="Failed passwords or codes for one email from one address before delays start.",
    )
    staff_sign_in_first_delay_seconds: int = Field(
        default=5, ge=1, description="The first delay; each further failure doubles it."
    )
    staff_sign_in_longest_delay_seconds: int = Field(
        default=900, ge=1, description="No delay grows longer than this."
    )
    staff_sign_in_forget_after_hours: int = Field(
        default=24,
        ge=1,
        description="A failure this long after the one before starts the count again.",
    )
    rate_limit_storage: str = Field(
        default="memory://",
        description="Where rate-limit counters live (`limits` storage URI). memory:// counts per "
        "process (one process only: `serve --workers N` refuses it); redis://host:6379 (or "
        "rediss://) shares them between every API process. Unreachable: limits fail open, "
        "with a warning.",
    )
    rate_limit_key_prefix: str = Field(
        default="medbook",
        description="Prefix of the rate-limit keys in the shared store (one per deployment "
        "sharing a Redis, or per test run).",
    )
    sign_in_rate_limit: str = Field(
        default="10/minute", description="Sign-in attempts allowed per client address."
    )
    hold_rate_limit: str = Field(
        default="30/minute", description="Holds one patient (or staff member) may create."
    )

    ws_heartbeat_seconds: float = Field(
        default=15.0, gt=0, description="How often a WebSocket subscriber hears the feed is alive."
    )
    ws_queue_capacity: int = Field(
        default=256,
        ge=1,
        description="Messages the hub queues for one WebSocket; a socket further behind than "
        "this reads the change feed itself until it has caught up.",
    )
    ws_send_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        description="How long one message may wait for a client to take it before the socket "
        "is closed as too slow (4408: it reconnects with its cursor and replays).",
    )
    ws_max_connections_per_session: int = Field(
        default=10, ge=1, description="Open WebSockets one signed-in session may hold per process."
    )
    ws_max_connections_per_address: int = Field(
        default=50,
        ge=1,
        description="Open WebSockets without a session one client address may hold per process.",
    )
    ws_session_check_seconds: float = Field(
        default=30.0,
        gt=0,
        description="How often an open WebSocket checks its session is still live (signed out, "
        "expired or lost its role: the socket closes).",
    )
    ws_session_unverified_grace_seconds: float = Field(
        default=5.0,
        gt=0,
        description="An open WebSocket whose session cannot be checked (the database "
        "unreachable) for this long is closed (1013: reconnect), never left open unchecked.",
    )
    change_feed_retention_days: int = Field(
        default=7, ge=1, description="How long change events are kept for replay."
    )
    hold_expiry_worker: bool = Field(
        default=True,
        description="Let `medbook worker` announce each hold's expiry as it falls due. One "
        "worker in the deployment does it at a time (chosen by a PostgreSQL advisory lock; "
        "another takes over within seconds if it dies); false keeps this worker out of it. "
        "Correctness never depends on it: a hold past its time is free to every search.",
    )

    # The worker (`medbook worker`): jobs on a PostgreSQL queue (procrastinate), ADR 0013.
    worker_concurrency: int = Field(
        default=4, ge=1, description="Jobs one `medbook worker` process runs at once."
    )
    job_poll_seconds: float = Field(
        default=5.0,
        gt=0,
        description="How often an idle worker looks for jobs that have come due (retries "
        "after their backoff); a newly deferred job wakes it at once.",
    )
    job_heartbeat_seconds: float = Field(
        default=10.0, gt=0, description="How often a worker says in the database it is alive."
    )
    job_stalled_after_seconds: float = Field(
        default=30.0,
        gt=0,
        description="A worker silent this long is taken for dead: its running jobs are "
        "queued again (or failed, past their retries).",
    )
    job_stalled_check_seconds: int = Field(
        default=60,
        ge=1,
        description="How often a worker looks for the jobs of dead workers (divides a minute, "
        "an hour or a day evenly).",
    )
    job_retention_days: int = Field(
        default=7,
        ge=1,
        description="Jobs that succeeded are deleted after this long; failed ones are kept "
        "until an operator retries or deletes them (`medbook jobs`).",
    )

    # The payment gateway. The defaults talk to localstripe on this machine (what `make run`
    # starts); in production set the Stripe keys and API base, or `serve` refuses to start.
    payment_api_base: str = Field(
        default=LOCALSTRIPE,
        description="The gateway's API base: https://api.stripe.com for Stripe, "
        "localstripe's address in development and tests.",
    )
    payment_js_url: str = Field(
        default=f"{LOCALSTRIPE}/js.stripe.com/v3/",
        description="The gateway's browser script (https://js.stripe.com/v3/ for Stripe): the "
        "payment page's Content-Security-Policy allows scripts from here and from us only.",
    )
    stripe_secret_key: str = Field(
        default=DEV_STRIPE_SECRET_KEY,
        description="Stripe secret key (sk_live_... in production; from the secret manager).",
    )
    stripe_publishable_key: str = Field(
        default="pk_test_localstripe", description="Stripe publishable key, given to browsers."
    )
    stripe_webhook_secret: str = Field(
        default=DEV_STRIPE_WEBHOOK_SECRET,
        description="The signing secret of our Stripe webhook endpoint (whsec_...).",
    )
    payment_gateway_timeout_seconds: float = Field(
        default=4.0,
        gt=0,
        description="How long one request may wait on the payment gateway in all (every call "
        "and retry it makes while it holds a payment's row). Kept below the database "
        "lock_timeout, so a request waiting for that row (the return page) is answered, never "
        "told `busy`. Past it the payer gets 503 with Retry-After, and the payment is settled "
        "by the retry, the return page, the webhook or reconciliation.",
    )
    payment_reconcile_seconds: int = Field(
        default=300,
        ge=1,
        description="How often open payments and pending refunds are checked with the gateway: "
        "one job per period across all workers. Divides a minute, an hour or a day evenly "
        "(e.g. 30, 60, 300, 3600).",
    )
    payment_settle_after_seconds: int = Field(
        default=120,
        ge=0,
        description="Reconciliation leaves alone what changed more recently than this: the "
        "webhook and the return page usually settle it first.",
    )
    payment_abandon_after_minutes: int = Field(
        default=60,
        ge=1,
        description="An unpaid payment whose hold is over is given up at the gateway after this "
        "long, so it can never charge later.",
    )

    @field_validator("log_level", "log_format", mode="before")
    @classmethod
    def _lower_case(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @field_validator("payment_reconcile_seconds", "job_stalled_check_seconds")
    @classmethod
    def _a_period_cron_can_keep(cls, value: int) -> int:
        cron_every(value)  # raises ValueError, with the reason, for 7 or 90 seconds
        return value

    @model_validator(mode="after")
    def _a_worker_beats_before_it_is_taken_for_dead(self) -> Self:
        if self.job_stalled_after_seconds <= 2 * self.job_heartbeat_seconds:
            raise ValueError(
                "MEDBOOK_JOB_STALLED_AFTER_SECONDS must be more than twice "
                "MEDBOOK_JOB_HEARTBEAT_SECONDS (a live worker would be taken for dead)"
            )
        return self

    @model_validator(mode="after")
    def _gateway_waits_less_than_a_lock(self) -> Self:
        if self.payment_gateway_timeout_seconds * 1000 >= self.db_lock_timeout_ms:
            raise ValueError(
                "MEDBOOK_PAYMENT_GATEWAY_TIMEOUT_SECONDS must be below MEDBOOK_DB_LOCK_TIMEOUT_MS "
                "(a request holding a payment's row would outwait those waiting for it)"
            )
        return self

    def payment_dev_defaults_in_use(self) -> bool:
        """True when a gateway other than localstripe would get the development keys."""
        local = urlsplit(self.payment_api_base).hostname in {"localhost", "127.0.0.1", "::1"}
        dev_keys = (
            self.stripe_secret_key == DEV_STRIPE_SECRET_KEY
            or self.stripe_webhook_secret == DEV_STRIPE_WEBHOOK_SECRET
        )
        return dev_keys and not local


@lru_cache
def get_settings() -> Settings:
    return Settings()
