"""Operations endpoints: liveness, readiness and Prometheus metrics (no authentication)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from openissuer import __version__
from openissuer.web.deps import ContainerDep
from openissuer.web.metrics import render_metrics

router = APIRouter(tags=["operations"])


@router.get("/health", summary="Liveness: the process answers")
async def health() -> dict[str, str]:
    return {"status": "ok", "version": __version__}


@router.get(
    "/ready",
    summary="Readiness: the database is reachable and its schema current",
    responses={503: {"description": "Not ready; `problems` says why"}},
)
async def ready(container: ContainerDep) -> JSONResponse:
    problems = await container.health.check()
    if problems:
        return JSONResponse({"status": "unavailable", "problems": problems}, status_code=503)
    return JSONResponse({"status": "ready"})


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics() -> Response:
    body, content_type = render_metrics()
    return Response(body, media_type=content_type)
