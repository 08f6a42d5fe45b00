"""``Settings``: every setting in one place, read from the environment (and ``.env``) at the edge.

Only the CLI and the API build a ``Settings``; lower layers receive small frozen config
objects derived from it. CLI flags override environment variables.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from kalshi_rl.core.errors import LiveModeRefusedError

PROD_WS_URL = "wss://api.elections.kalshi.com/trade-api/ws/v2"
PROD_REST_URL = "https://api.elections.kalshi.com/trade-api/v2"


class Settings(BaseSettings):
    """The spec's environment variables plus the URLs and directories the product needs."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    kalshi_api_key: str = Field("", description="Kalshi API key id")
    kalshi_private_key_path: Path | None = Field(None, description="PEM file of the API key")
    rl_market_ticker: Annotated[tuple[str, ...], NoDecode] = Field(
        (), description="market(s) to collect/trade, comma separated"
    )
    rl_mode: Literal["training", "paper"] = "paper"
    database_url: SecretStr | None = None
    tick_interval_seconds: float = Field(1.0, gt=0)
    kalshi_ws_url: str = PROD_WS_URL
    kalshi_rest_url: str = PROD_REST_URL
    data_dir: Path = Path("data")
    models_dir: Path = Path("models")
    rl_api_token: SecretStr | None = None
    rl_cors_origins: Annotated[tuple[str, ...], NoDecode] = Field((), description="allowed browser origins")
    rl_ready_max_feed_silence_s: float = Field(
        60.0, gt=0, description="/rl/ready fails when no frame arrived for this long"
    )
    rl_ready_max_backlog_rows: int = Field(
        1_000_000, gt=0, description="/rl/ready fails when a sink or the write queue holds more rows"
    )

    @field_validator("rl_market_ticker", "rl_cors_origins", mode="before")
    @classmethod
    def _split_tickers(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(t.strip() for t in value.split(",") if t.strip())
        return value

    @field_validator("rl_mode", mode="before")
    @classmethod
    def _refuse_live(cls, value: object) -> object:
        if isinstance(value, str) and value.strip().lower() == "live":
            raise LiveModeRefusedError("RL_MODE")
        return value

    @field_validator("database_url", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @property
    def database_url_value(self) -> str | None:
        return self.database_url.get_secret_value() if self.database_url else None

    @property
    def lake_dir(self) -> Path:
        return self.data_dir / "lake"

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "kalshi_rl.sqlite"
