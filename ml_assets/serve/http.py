"""The HTTP service (Starlette on uvicorn, optional extra ``serve``):

- ``GET /customers/{customer_id}/score?as_of=YYYY-MM-DD``: the score JSON;
  404 for an unknown customer, 422 when there is nothing to score at that
  date, 400 for a bad date, 503 with ``Retry-After`` while a run writes the
  warehouse;
- ``GET /health``: the models answering (champion or fallback) with their
  sha256 checked again now, and whether the warehouse can be read.

Handlers are plain functions that Starlette runs in its thread pool; each
request attaches the warehouse read-only and detaches it before answering."""

from __future__ import annotations

import logging

import duckdb
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ml_assets import registry
from ml_assets.serve.models import Models, NoModel
from ml_assets.serve.score import CannotScore, UnknownCustomer, parse_as_of, score_customer
from ml_assets.serve.warehouse import (
    RETRY_AFTER_SECONDS,
    WarehouseBusy,
    WarehouseMissing,
    read_only,
)
from ml_assets.settings import Settings

_log = logging.getLogger(__name__)

def create_app(settings: Settings) -> Starlette:
    """The service for ``settings``' warehouse and model folder; the champions are
    loaded and verified now when the warehouse can be read (else on first use)."""
    models = Models(settings.model_dir)
    try:
        with read_only(settings.warehouse) as conn:
            models.current(conn)
    except (WarehouseBusy, WarehouseMissing, NoModel, duckdb.Error) as error:
        # not fatal: every request (and /health) tries again and reports it
        _log.warning("models not loaded at start, will retry on the first request: %s", error)

    def score(request: Request) -> JSONResponse:
        customer_id = request.path_params["customer_id"]
        try:
            as_of = parse_as_of(request.query_params.get("as_of"))
        except ValueError as error:
            return _error(400, str(error))
        try:
            with read_only(settings.warehouse) as conn:
                return JSONResponse(score_customer(conn, customer_id, as_of, models, settings))
        except UnknownCustomer as error:
            return _error(404, str(error))
        except CannotScore as error:
            return _error(422, str(error))
        except WarehouseBusy as error:
            return _error(503, str(error), {"Retry-After": str(RETRY_AFTER_SECONDS)})
        except (WarehouseMissing, NoModel) as error:
            return _error(503, str(error))

    def health(request: Request) -> JSONResponse:
        try:
            with read_only(settings.warehouse) as conn:
                serving = models.current(conn)
                body = {"warehouse": {"path": settings.warehouse, "reachable": True},
                        "models": {t: _checked(s) for t, s in serving.items()}}
        except WarehouseBusy as error:
            body = {"warehouse": {"path": settings.warehouse, "reachable": False,
                                  "reason": str(error)},
                    "models": {t: _checked(s) for t, s in dict(models.serving).items()}}
        except (WarehouseMissing, NoModel, duckdb.Error) as error:
            return JSONResponse({"status": "unavailable", "reason": str(error)}, status_code=503)
        ok = all(m["sha256_ok"] and not m["fallback"] for m in body["models"].values())
        body["status"] = "ok" if ok and body["warehouse"]["reachable"] else "degraded"
        return JSONResponse(body)

    return Starlette(routes=[Route("/customers/{customer_id}/score", score),
                             Route("/health", health)])


def _checked(serving) -> dict:
    """What serves, with its artifact's sha256 recomputed now."""
    row = serving.model.row
    actual = registry.artifact_digest(row["artifact_path"])
    return {**serving.describe(), "sha256_ok": actual == row["sha256"]}


def _error(status: int, message: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def run(settings: Settings, host: str, port: int) -> None:
    import uvicorn

    uvicorn.run(create_app(settings), host=host, port=port, log_level="warning", access_log=False)
