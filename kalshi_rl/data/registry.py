"""The model registry and episode log (spec tables ``models`` and ``trading_episodes``).

Works on PostgreSQL and on the embedded SQLite file through the same SQLAlchemy schema, and
behaves the same on both: values only one engine could store are refused before any write (a
NUL character, which PostgreSQL text and JSONB cannot hold; NaN or infinity, which is not JSON,
so PostgreSQL refuses it in JSONB while SQLite stores text nobody can read back, and which
SQLite turns into NULL in a FLOAT column), and
timestamps come back as UTC-aware datetimes (SQLite returns them naive, PostgreSQL in its
session time zone). Versions auto-increment per model name (a unique index guards against two
runs racing).
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, get_args

from sqlalchemy import Engine, func, select, update
from sqlalchemy.exc import IntegrityError

from kalshi_rl.core.errors import DataNotFoundError, InvalidValueError
from kalshi_rl.data.storage.schema import models, trading_episodes

ModelStatus = Literal["training", "ready", "failed", "stopped", "deployed", "archived"]
STATUSES: tuple[ModelStatus, ...] = get_args(ModelStatus)
_TIMES = ("created_at", "updated_at", "start_time", "end_time")


@dataclass(frozen=True)
class ModelRecord:
    id: uuid.UUID
    name: str
    version: int
    architecture: str
    market_ticker: str
    parent_model_id: uuid.UUID | None
    checkpoint_path: str
    hyperparameters: dict[str, Any]
    training_config: dict[str, Any]
    training_episodes: int
    training_timesteps: int
    created_at: datetime | None
    updated_at: datetime | None
    performance_summary: dict[str, Any] | None
    status: ModelStatus
    notes: str | None

    @property
    def label(self) -> str:
        return f"{self.name}@{self.version}"

    def to_dict(self) -> dict[str, Any]:
        data = {k: getattr(self, k) for k in self.__dataclass_fields__}
        data["id"] = str(self.id)
        data["parent_model_id"] = str(self.parent_model_id) if self.parent_model_id else None
        for key in ("created_at", "updated_at"):
            data[key] = data[key].isoformat() if data[key] else None
        return data


def _now() -> datetime:
    return datetime.now(UTC)


def _utc(value: datetime | None) -> datetime | None:
    """A stored timestamp as UTC-aware (everything is written in UTC; SQLite drops the zone)."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _from_row(row: Mapping[Any, Any]) -> dict[str, Any]:
    data = dict(row)
    for key in _TIMES:
        if key in data:
            data[key] = _utc(data[key])
    return data


def _check_storable(column: str, value: object) -> None:
    """Refuse a value one engine cannot store, the same way on both (see the module docstring)."""
    if isinstance(value, str):
        if "\x00" in value:
            raise InvalidValueError(f"{column} contains a NUL character, which the database cannot store")
    elif isinstance(value, float):
        if not math.isfinite(value):  # JSON has no such number, and SQLite stores a NaN as NULL
            raise InvalidValueError(f"{column} is {value}: only finite numbers can be stored")
    elif isinstance(value, Mapping):
        for key, item in value.items():
            _check_storable(f"{column} key", key)
            _check_storable(f"{column}.{key}", item)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _check_storable(f"{column}[{index}]", item)


def _check_row(values: Mapping[str, Any]) -> None:
    for column, value in values.items():
        _check_storable(column, value)


class ModelRegistry:
    """Create, find and update model rows; log episodes."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(
        self,
        name: str,
        architecture: str,
        market_ticker: str,
        checkpoint_path: str,
        hyperparameters: dict[str, Any],
        training_config: dict[str, Any],
        parent_model_id: uuid.UUID | None = None,
        status: str = "training",
        model_id: uuid.UUID | None = None,
        notes: str | None = None,
    ) -> ModelRecord:
        """Insert a model row with the next version for ``name``."""
        if not name or len(name) > 200:
            raise InvalidValueError("a model name must be 1-200 characters")
        if status not in STATUSES:
            raise InvalidValueError(f"unknown status {status!r} (expected one of {', '.join(STATUSES)})")
        _check_row(
            {
                "name": name,
                "architecture": architecture,
                "market_ticker": market_ticker,
                "checkpoint_path": checkpoint_path,
                "hyperparameters": hyperparameters,
                "training_config": training_config,
                "notes": notes,
            }
        )
        model_id = model_id or uuid.uuid4()
        for _attempt in range(5):
            with self.engine.begin() as conn:
                version = (
                    conn.execute(select(func.max(models.c.version)).where(models.c.name == name)).scalar()
                    or 0
                ) + 1
                try:
                    conn.execute(
                        models.insert().values(
                            id=model_id,
                            name=name,
                            version=version,
                            architecture=architecture,
                            market_ticker=market_ticker,
                            parent_model_id=parent_model_id,
                            checkpoint_path=checkpoint_path,
                            hyperparameters=hyperparameters,
                            training_config=training_config,
                            status=status,
                            notes=notes,
                            created_at=_now(),
                            updated_at=_now(),
                        )
                    )
                except IntegrityError:
                    continue  # another run took this version; try the next
            return self.get(str(model_id))
        raise InvalidValueError(f"could not allocate a version for model {name!r}")

    def update(self, model_id: uuid.UUID | str, **values: Any) -> ModelRecord:
        if "status" in values and values["status"] not in STATUSES:
            raise InvalidValueError(f"unknown status {values['status']!r}")
        _check_row(values)
        record = self.get(str(model_id))
        with self.engine.begin() as conn:
            conn.execute(update(models).where(models.c.id == record.id).values(updated_at=_now(), **values))
        return self.get(str(record.id))

    def get(self, ref: str, statuses: tuple[str, ...] | None = None) -> ModelRecord:
        """Find a model by id, ``name@version`` or ``name`` (its latest version, optionally the
        latest with one of ``statuses``)."""
        query = select(models)
        try:
            query = query.where(models.c.id == uuid.UUID(ref))
        except ValueError:
            name, _, version = ref.partition("@")
            query = query.where(models.c.name == name)
            if version:
                if not version.isdigit():
                    raise InvalidValueError(f"expected NAME@VERSION with a number, got {ref!r}") from None
                query = query.where(models.c.version == int(version))
            elif statuses:
                query = query.where(models.c.status.in_(statuses))
            query = query.order_by(models.c.version.desc()).limit(1)
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        if row is None:
            raise DataNotFoundError(f"no model {ref!r} in the registry (see `kalshi-rl inspect models`)")
        return ModelRecord(**_from_row(row))

    def list_models(
        self, status: str | None = None, market: str | None = None, name: str | None = None, limit: int = 100
    ) -> list[ModelRecord]:
        query = select(models).order_by(models.c.created_at.desc()).limit(limit)
        if status:
            query = query.where(models.c.status == status)
        if market:
            query = query.where(models.c.market_ticker == market)
        if name:
            query = query.where(models.c.name == name)
        with self.engine.connect() as conn:
            return [ModelRecord(**_from_row(r)) for r in conn.execute(query).mappings()]

    # -- episodes -----------------------------------------------------------------------------

    def add_episodes(self, rows: list[dict[str, Any]]) -> int:
        """Insert trading_episodes rows (each with model_id, market_ticker, start_time, mode, ...)."""
        if not rows:
            return 0
        for row in rows:
            if row.get("mode") not in ("training", "paper"):
                raise InvalidValueError(
                    f"episode mode must be 'training' or 'paper', got {row.get('mode')!r}"
                )
            _check_row(row)
            row.setdefault("episode_id", uuid.uuid4())
        with self.engine.begin() as conn:
            conn.execute(trading_episodes.insert(), rows)
        return len(rows)

    def start_episode(
        self,
        model_id: uuid.UUID | None,
        market_ticker: str,
        mode: str,
        metadata: dict[str, Any] | None = None,
    ) -> uuid.UUID:
        """Open a trading_episodes row (e.g. a paper-trading session) and return its episode_id."""
        episode_id = uuid.uuid4()
        row = {
            "episode_id": episode_id,
            "model_id": model_id,
            "market_ticker": market_ticker,
            "mode": mode,
            "start_time": _now(),
            "metadata": metadata or {},
        }
        self.add_episodes([row])
        return episode_id

    def finish_episode(self, episode_id: uuid.UUID, **values: Any) -> None:
        """Close an episode: end_time now, plus total_reward, total_steps, final_position, metadata."""
        _check_row(values)
        with self.engine.begin() as conn:
            conn.execute(
                update(trading_episodes)
                .where(trading_episodes.c.episode_id == episode_id)
                .values(end_time=_now(), **values)
            )

    def episodes(
        self, model_id: uuid.UUID | str | None = None, mode: str | None = None, limit: int = 200
    ) -> list[dict[str, Any]]:
        query = select(trading_episodes).order_by(trading_episodes.c.start_time.desc()).limit(limit)
        if model_id is not None:
            query = query.where(trading_episodes.c.model_id == self.get(str(model_id)).id)
        if mode:
            query = query.where(trading_episodes.c.mode == mode)
        with self.engine.connect() as conn:
            return [_from_row(r) for r in conn.execute(query).mappings()]

    def paper_pnl_since(self, since: datetime) -> float:
        """The P&L in dollars (marked, after fees) of the paper episodes started at or after
        ``since`` and finished: what the day-loss limit carries over an actor's restart. An
        episode still open (a running actor, or one killed before it could finish) counts 0."""
        query = select(func.coalesce(func.sum(trading_episodes.c.total_reward), 0.0)).where(
            trading_episodes.c.mode == "paper",
            trading_episodes.c.start_time >= since,
            trading_episodes.c.end_time.is_not(None),
        )
        with self.engine.connect() as conn:
            return float(conn.execute(query).scalar_one())

    def episode(self, episode_id: uuid.UUID) -> dict[str, Any] | None:
        """Return one episode's row (its times UTC-aware, as ``episodes`` gives them), or None."""
        query = select(trading_episodes).where(trading_episodes.c.episode_id == episode_id)
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        return _from_row(row) if row is not None else None
