"""Liveness and readiness probes for the load balancer."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text

from medbook.schema import head_revision

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str
    checks: dict[str, str] = {}


@router.get("/healthz", response_model=Health, summary="The process is up")
async def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Health,
    responses={503: {"model": Health, "description": "Not ready"}},
    summary="The database answers and its schema is at the newest migration",
)
async def readyz(request: Request) -> JSONResponse:
    checks: dict[str, str] = {}
    try:
        async with request.app.state.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
            checks["database"] = "ok"
            version = (
                await connection.execute(text("SELECT version_num FROM alembic_version"))
            ).scalar()
        checks["migrations"] = (
            "ok" if version == head_revision() else f"at {version}, need {head_revision()}"
        )
    except Exception as error:  # any failure means "not ready", never a 500
        checks.setdefault("database", f"unavailable: {type(error).__name__}")
    ready = checks.get("database") == "ok" and checks.get("migrations") == "ok"
    body = Health(status="ready" if ready else "not ready", checks=checks)
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)
