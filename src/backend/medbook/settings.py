"""Settings: every knob has an environment variable and a safe default.

Values come from the process environment first, then from an optional `.env` file in the working
directory. `.env.example` at the repository root lists every setting.
"""

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[3]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="MEDBOOK_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
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
    log_level: str = Field(default="info", description="Log level: debug, info, warning, error.")

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
    staff_api_token: SecretStr | None = Field(
        default=None,
        description="Bearer token for /api/v1/staff until staff sign-in lands. Unset: staff API off.",
    )


@lru_cache
def get_settings() -> Settings:
    return Settings()
