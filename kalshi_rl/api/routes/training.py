"""Start and stop the training run; its state as the API reports it."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from kalshi_rl.api import models as m
from kalshi_rl.api.routes.common import mutating, ok, parse, service_of
from kalshi_rl.api.service import RlService


def training_state(service: RlService) -> m.TrainingState:
    job = service.training
    if job is None:
        return m.TrainingState(running=False)
    record = job.record
    return m.TrainingState(
        running=not job.task.done(),
        model_id=str(job.model_id),
        model=record.label if record else job.name,
        status=record.status if record else ("training" if not job.task.done() else "failed"),
        progress=job.progress,
        error=job.error or (record.notes if record and record.status == "failed" else None),
    )


@mutating
async def start_training(request: Request) -> JSONResponse:
    """Start a training run in the background (one at a time); answers with its model id."""
    body = await parse(request, m.TrainingStart)
    service = service_of(request)
    await service.start_training(body)
    return ok(training_state(service), 202)


@mutating
async def stop_training(request: Request) -> JSONResponse:
    """Ask the running training to stop; it saves a checkpoint and records the stop."""
    service = service_of(request)
    await service.stop_training()
    return ok(training_state(service))
