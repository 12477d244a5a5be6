"""The HTTP feature server (`fsync serve`): a small Starlette app speaking Feast's feature-server protocol.

    POST /get-online-features   {"feature_service": "training_churn" | "features": ["view:feature", ...],
                                 "entities": {"user_id": [1150, 1151]}, "now": "2024-06-15T12:00:00Z"?}
      -> {"metadata": {"feature_names": [...]},
          "results": [{"values": [...], "statuses": [...], "event_timestamps": [...]}, ...]}
    GET /health                 the store is reachable, the manifest loaded
    GET /services               every feature service with its columns

As Feast's server does, `metadata.feature_names` lists the entity key columns first, then the features, and
`results[i]` holds column i for every entity in request order; statuses are Feast's PRESENT, NULL_VALUE,
NOT_FOUND, OUTSIDE_MAX_AGE. fsync adds `metadata.statuses` (view -> fsync's status per entity),
`metadata.now` and `metadata.request_id` (when logged). Values are strict JSON (fsync/jsonvalue.py: decimals
as strings, timestamps ISO 8601). Bad input (unknown service, view, feature or key) is a 400 with a message
naming it; an unreachable store a 503. The registry is read again on SIGHUP, and every `reload_seconds` when
the manifest changed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fsync.errors import FsyncError, InfraUnavailable
from fsync.jsonvalue import dumps
from fsync.serving.online import OnlineResult
from fsync.serving.store import FeatureStore
from fsync.timeutil import EPOCH

_EPOCH_TEXT = EPOCH.isoformat() + "Z"
_REQUEST_FIELDS = {
    "features",
    "feature_service",
    "entities",
    "now",
    "full_feature_names",
    "request_id",
    "log",
}


def _json(body: Any, status: int = 200) -> Response:
    return Response(dumps(body), status_code=status, media_type="application/json")


def _error(exc: FsyncError) -> Response:
    status = 503 if isinstance(exc, InfraUnavailable) else 400
    message = " ".join(str(exc).split())
    return _json({"detail": message, "error": {"kind": exc.kind, "message": message}}, status)


def _ts(value: datetime | None) -> str:
    return _EPOCH_TEXT if value is None else value.isoformat() + "Z"


def feast_response(result: OnlineResult) -> dict[str, Any]:
    """Feast's response shape (GetOnlineFeaturesResponse as JSON) of an online read."""
    n = len(result)
    results = []
    for k in result.entity_columns:
        results.append(
            {"values": result.columns[k], "statuses": ["PRESENT"] * n, "event_timestamps": [_EPOCH_TEXT] * n}
        )
    statuses = result.feature_statuses()
    for view in result.plan.views:
        stamps = [_ts(t) for t in result.feature_ts[view.label]]
        for name in view.outputs:
            results.append(
                {"values": result.columns[name], "statuses": statuses[name], "event_timestamps": stamps}
            )
    metadata: dict[str, Any] = {
        "feature_names": result.entity_columns + result.feature_names,
        "statuses": result.statuses,
        "now": result.now.isoformat() + "Z",
    }
    if result.service:
        metadata["feature_service"] = result.service
    if result.request_id:
        metadata["request_id"] = result.request_id
    return {"metadata": metadata, "results": results}


def create_app(fs: FeatureStore, reload_seconds: float | None = None) -> Starlette:
    """The ASGI app over one FeatureStore (its registry is shared by every request)."""

    async def get_online_features(request: Request) -> Response:
        try:
            body = json.loads(await request.body() or b"null")
        except ValueError as exc:
            return _json({"detail": f"the request body is not JSON ({exc})."}, 400)
        if not isinstance(body, dict):
            return _json(
                {
                    "detail": 'the request body must be a JSON object such as {"feature_service":'
                    ' "training_churn", "entities": {"user_id": [1150]}}.'
                },
                400,
            )
        try:
            unknown = sorted(set(body) - _REQUEST_FIELDS)
            if unknown:
                raise FsyncError(
                    f"unknown request field {unknown[0]!r}; known: features, feature_service, entities, now,"
                    " request_id, log."
                )
            entities = body.get("entities")
            if not isinstance(entities, dict) or not entities:
                raise FsyncError(
                    '"entities" must map each entity key to a list of values, e.g. {"user_id": [1150, 1151]}.'
                )
            service, features = body.get("feature_service"), body.get("features")
            if service is not None and not isinstance(service, str):
                raise FsyncError('"feature_service" must be a service name.')
            if features is not None and not (
                isinstance(features, list) and all(isinstance(f, str) for f in features)
            ):
                raise FsyncError('"features" must be a list of "VIEW:FEATURE" names.')
            log = body.get("log")
            if log is not None and not isinstance(log, bool):
                raise FsyncError('"log" must be true or false.')
            result = fs.get_online_features(
                entities,
                features=features,
                service=service,
                now=body.get("now"),
                log=log,
                request_id=body.get("request_id"),
            )
        except FsyncError as exc:
            return _error(exc)
        return _json(feast_response(result))

    async def health(request: Request) -> Response:
        try:
            fs.store.ping()
        except FsyncError as exc:
            return _error(exc)
        return _json(
            {
                "status": "ok",
                "store": fs.store.describe(),
                "manifest_generated_at": fs.manifest.generated_at,
                "services": len(fs.services.services),
            }
        )

    async def services(request: Request) -> Response:
        return _json(
            {
                "services": [s.to_dict() for s in fs.list_services()],
                "problems": fs.services.problems,
            }
        )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signal.SIGHUP, _reload)
        watcher = asyncio.create_task(_watch()) if reload_seconds else None
        flusher = asyncio.create_task(_flush())
        try:
            yield
        finally:
            flusher.cancel()
            if watcher is not None:
                watcher.cancel()
            fs.close()

    def _reload() -> None:
        try:
            fs.reload()
        except FsyncError as exc:  # keep serving the registry already loaded
            print(f"fsync serve: reload failed, still serving the previous registry: {exc}", flush=True)
            return
        print(f"fsync serve: registry reloaded (manifest {fs.manifest.generated_at})", flush=True)

    async def _flush() -> None:
        """A logged read's entry rides ahead of the next read; when none comes, it is sent within 100 ms."""
        while True:
            await asyncio.sleep(0.1)
            try:
                fs.flush_log()
            except FsyncError as exc:
                print(f"fsync serve: the served-value log could not be written: {exc}", flush=True)

    async def _watch() -> None:
        path = fs.project.manifest_path
        seen = _mtime(path)
        while True:
            await asyncio.sleep(reload_seconds or 1)
            now = _mtime(path)
            if now != seen:
                seen = now
                _reload()

    return Starlette(
        routes=[
            Route("/get-online-features", get_online_features, methods=["POST"]),
            Route("/health", health, methods=["GET"]),
            Route("/services", services, methods=["GET"]),
        ],
        lifespan=lifespan,
    )


def _mtime(path: Any) -> float | None:
    try:
        return float(path.stat().st_mtime_ns)
    except OSError:
        return None


def serve(fs: FeatureStore, host: str, port: int, reload_seconds: float | None = None) -> None:
    """Run the server until SIGINT/SIGTERM (uvicorn, one process, uvloop and httptools when available)."""
    import uvicorn

    config = uvicorn.Config(
        create_app(fs, reload_seconds),
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="on",
        loop="auto",
        http="auto",
    )
    uvicorn.Server(config).run()
