"""Request and response bodies of the /rl/* API (pydantic), shared by the routes and OpenAPI."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from kalshi_rl.api.health import CheckName
from kalshi_rl.api.stream_messages import TrainingProgressData
from kalshi_rl.data.registry import ModelStatus as Status
from kalshi_rl.trading.risk import TripKind

EpisodeMode = Literal["training", "paper"]
Mode = Literal["paper", "live"]
"""A trading mode a request may ask for: 'live' is declared so that it answers 501 (not
available) rather than 422; the actor itself only ever runs in 'paper'."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- query parameters: the routes validate with these and the OpenAPI document lists them ------


class ModelQuery(BaseModel):
    """``GET /rl/models``: filters (absent: any) and the page size."""

    status: Status | None = None
    market: str | None = Field(default=None, min_length=1)
    name: str | None = Field(default=None, min_length=1)
    limit: int = Field(default=100, ge=1, le=1_000)


class EpisodeQuery(BaseModel):
    """``GET /rl/episodes``: filters (absent: any) and the page size."""

    model_id: str | None = Field(default=None, min_length=1)
    mode: EpisodeMode | None = None
    limit: int = Field(default=100, ge=1, le=1_000)


class CompareQuery(BaseModel):
    """``GET /rl/compare``: 1-20 model ids or references, comma separated (absent: ready models)."""

    model_ids: str | None = Field(default=None, pattern=r"^\s*[^,\s][^,]*(,\s*[^,\s][^,]*){0,19}$")


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorBody(BaseModel):
    error: ErrorDetail


class Model(BaseModel):
    id: str
    name: str
    version: int
    architecture: str
    market_ticker: str
    parent_model_id: str | None
    checkpoint_path: str
    hyperparameters: dict[str, Any]
    training_config: dict[str, Any]
    training_episodes: int
    training_timesteps: int
    created_at: datetime | None
    updated_at: datetime | None
    performance_summary: dict[str, Any] | None
    status: Status
    notes: str | None


class ModelList(BaseModel):
    models: list[Model]


class ModelCreate(Strict):
    name: str = Field(min_length=1, max_length=200)
    architecture: Literal["PPO", "A2C"]
    market_ticker: str = Field(min_length=1, max_length=200, pattern=r"^[A-Z0-9-]+(,[A-Z0-9-]+)*$")
    checkpoint_path: str = Field(min_length=1, max_length=4096)
    hyperparameters: dict[str, Any] = Field(default_factory=dict)
    training_config: dict[str, Any] = Field(default_factory=dict)
    parent_model_id: str | None = None
    status: Status = "training"
    notes: str | None = Field(default=None, max_length=10_000)


class ModelUpdate(Strict):
    """At least one of a status or notes (a null is no change, so ``{}`` or all-null is refused)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "anyOf": [
                {"required": [name], "properties": {name: {"not": {"type": "null"}}}}
                for name in ("status", "notes")
            ]
        },
    )

    status: Status | None = None
    notes: str | None = Field(default=None, max_length=10_000)

    @model_validator(mode="after")
    def _something(self) -> ModelUpdate:
        if self.status is None and self.notes is None:
            raise ValueError("nothing to update: give status and/or notes")
        return self


class Episode(BaseModel):
    id: int
    episode_id: str
    model_id: str | None
    market_ticker: str
    start_time: datetime
    end_time: datetime | None
    mode: EpisodeMode
    total_reward: float | None
    total_steps: int | None
    final_position: dict[str, Any] | None
    metadata: dict[str, Any] | None


class EpisodeList(BaseModel):
    episodes: list[Episode]


class EpisodeDetail(Episode):
    actions: int = 0
    recent_actions: list[dict[str, Any]] = Field(default_factory=list)


class TrainingStart(Strict):
    markets: list[str] = Field(default_factory=list, max_length=20)
    series: str | None = Field(default=None, pattern=r"^[A-Z0-9-]+$")
    """Train on every market of this series with books in the window, instead of ``markets``."""
    start: datetime | None = None
    end: datetime | None = None
    algo: Literal["ppo", "a2c"] = "ppo"
    timesteps: int = Field(default=50_000, ge=1, le=100_000_000)
    n_envs: int = Field(default=1, ge=1, le=64)
    name: str | None = Field(default=None, min_length=1, max_length=200)
    parent: str | None = None
    hyperparameters: dict[str, Any] = Field(default_factory=dict)
    seed: int = Field(default=0, ge=0, le=2**31 - 1)
    tick_ms: int = Field(default=1_000, ge=10, le=3_600_000)
    episode_ticks: int = Field(default=300, ge=1, le=1_000_000)
    order_contracts: float = Field(default=10.0, gt=0, le=1_000_000)
    position_limit: float = Field(default=50.0, gt=0, le=10_000_000)
    latency_ms: float = Field(default=50.0, ge=0, le=60_000)
    checkpoint_every: int = Field(default=10_000, ge=1)

    @model_validator(mode="after")
    def _one_source(self) -> TrainingStart:
        if bool(self.markets) == bool(self.series):
            raise ValueError("give markets or series (one of them)")
        return self


class TrainingState(BaseModel):
    running: bool
    model_id: str | None = None
    model: str | None = None
    status: Status | None = None
    progress: TrainingProgressData | None = None
    """The last ``training_progress`` of the run (as /rl/ws/training sent it)."""
    error: str | None = None


class ActorStart(Strict):
    model_id: str = Field(min_length=1, max_length=300)
    market_ticker: str | None = Field(default=None, pattern=r"^[A-Z0-9-]+$")
    series: str | None = Field(default=None, pattern=r"^[A-Z0-9-]+$")
    """Trade this series market after market (default for a series model: its series)."""
    mode: Mode = "paper"
    starting_balance: float = Field(default=1_000.0, ge=0, le=1e12)
    stochastic: bool = False
    seed: int = Field(default=0, ge=0, le=2**31 - 1)
    # Risk limits (``trading.risk.RiskLimits``); unset: that control is off.
    max_loss_episode: float | None = Field(default=None, gt=0, le=1e12)
    """Dollars lost in the episode (realized + unrealized, fees included) that stop trading."""
    max_loss_day: float | None = Field(default=None, gt=0, le=1e12)
    """Dollars lost since the first tick of the UTC day that stop trading."""
    max_orders_per_minute: int | None = Field(default=None, gt=0, le=1_000_000)
    """Orders beyond this many in any 60 s are skipped (trading goes on)."""
    stale_ticks: int | None = Field(default=None, gt=0, le=1_000_000)
    """Stop trading once the book has been stale this many ticks in a row."""
    refused_orders: int | None = Field(default=None, gt=0, le=1_000_000)
    """Stop trading after this many refused orders in a row."""
    latency_ms: float | None = Field(default=None, gt=0, le=1e6)
    """Stop trading after ``latency_ticks`` decisions in a row slower than this."""
    latency_ticks: int = Field(default=3, gt=0, le=1_000_000)
    rollback_loss: float | None = Field(default=None, gt=0, le=1e12)
    """Dollars a hot-loaded version may lose within ``rollback_window_s`` before the actor goes
    back to the version it replaced (pinned to it from then on)."""
    rollback_window_s: float = Field(default=300.0, gt=0, le=86_400 * 365)

    def risk_limits(self) -> dict[str, Any]:
        """The ``RiskLimits`` fields of this body."""
        names = (
            "max_loss_episode",
            "max_loss_day",
            "max_orders_per_minute",
            "stale_ticks",
            "refused_orders",
            "latency_ms",
            "latency_ticks",
            "rollback_loss",
            "rollback_window_s",
        )
        return {name: getattr(self, name) for name in names}


class SwitchModel(Strict):
    model_id: str = Field(min_length=1, max_length=300)


class SetMode(Strict):
    mode: Mode


class ModeState(BaseModel):
    """What ``POST /rl/actor/set-mode`` set (only 'paper' ever is)."""

    mode: Literal["paper"]


class ActorState(BaseModel):
    running: bool
    mode: Literal["paper"] = "paper"
    model: str | None = None
    model_id: str | None = None
    market_ticker: str | None = None
    """The market traded now (a series actor's changes at each roll; None while it waits)."""
    series: str | None = None
    waiting: str | None = None
    """Why a series actor trades no market now (none of the series is open)."""
    metrics: dict[str, Any] | None = None


class Switching(BaseModel):
    """``POST /rl/actor/switch-model``: the version the actor trades from its next tick."""

    switching_to: str
    actor: ActorState


class RiskCommand(BaseModel):
    """What ``POST /rl/actor/resume`` and ``/rl/actor/flatten`` did, and the actor after it."""

    resumed: TripKind | None = None
    """The breaker a resume cleared (None: none was tripped)."""
    flatten: dict[str, Any] | None = None
    """The flatten: market, position before and after (contracts), each order's result."""
    actor: ActorState


class ServiceStatus(BaseModel):
    service: str
    version: str
    uptime_s: float
    database: str
    feed: dict[str, Any]
    actor: ActorState
    training: TrainingState


class Liveness(BaseModel):
    """``GET /rl/health``: the process answers (nothing else is checked)."""

    status: Literal["ok"] = "ok"
    service: str
    version: str
    uptime_s: float


class ReadinessCheck(BaseModel):
    name: CheckName
    ok: bool
    reason: str = ""


class Readiness(BaseModel):
    """``GET /rl/ready``: 200 when every check passes, else 503 with each failing check's reason."""

    ready: bool
    reasons: list[str]
    checks: list[ReadinessCheck]


class Metrics(BaseModel):
    actor: dict[str, Any] | None
    training: dict[str, Any] | None
    feed: dict[str, Any]


class Comparison(BaseModel):
    models: list[dict[str, Any]]
