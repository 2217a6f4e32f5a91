"""The playground's Starlette application: pages, static files, the JSON API, the event stream.

Every API call takes a JSON object with the tab's `session` id. Work that computes (building a
step-through, checking a derivative, a training step) runs in Starlette's thread pool, and
training in each session's own thread, so the event loop only routes requests and streams
snapshots. Bad input is answered with HTTP 400 and `{"error": "..."}` naming the problem.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from chainrule.playground import expression_lab, network_lab
from chainrule.playground.limits import PlaygroundError, integer
from chainrule.playground.presets import PRESETS
from chainrule.playground.sessions import Session, Sessions

STATIC = Path(__file__).resolve().parent / "static"
PAGES = {
    "/": "index.html",
    "/expression": "expression.html",
    "/network": "network.html",
    "/exercises": "exercises.html",
}
MAX_BODY = 64_000  # bytes of one request


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise PlaygroundError(f"the request is {len(raw)} bytes; the limit is {MAX_BODY}")
    try:
        body = json.loads(raw or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise PlaygroundError("the request is not JSON") from None
    if not isinstance(body, dict):
        raise PlaygroundError("the request must be a JSON object")
    return body


Handler = Callable[[Session, dict[str, Any]], Any]


def _api(sessions: Sessions, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """A POST endpoint: parse, find the session, run `handler` off the event loop, answer."""

    async def endpoint(request: Request) -> Response:
        try:
            body = await _body(request)
            session = sessions.get(body.get("session"))
            result = await run_in_threadpool(handler, session, body)
        except PlaygroundError as error:
            return _error(400, str(error))
        return JSONResponse(result)

    return endpoint


def _expression(session: Session, body: dict[str, Any]) -> dict[str, Any]:
    state = expression_lab.build(body)
    session.expression = state
    return {
        "names": state.names,
        "wrt": state.wrt,
        "boxes": len(state.steps.boxes),
        "count": len(state.steps.steps),
        "step": state.steps.step_dict(0),
        "gradients": state.steps.to_dict()["gradients"],
        "closed": expression_lab.closed_forms(state, body.get("closed")),
    }


def _state(session: Session) -> expression_lab.ExpressionState:
    if session.expression is None:
        raise PlaygroundError("no expression yet: type one and press Build")
    return session.expression


def _step(session: Session, body: dict[str, Any]) -> dict[str, Any]:
    return _state(session).step(str(body.get("action", "")))


def _check(session: Session, body: dict[str, Any]) -> dict[str, Any]:
    return expression_lab.check(_state(session), body)


def _trainer(session: Session) -> network_lab.Trainer:
    if session.trainer is None:
        raise PlaygroundError("no network yet: press Build")
    return session.trainer


def _network(session: Session, body: dict[str, Any]) -> dict[str, Any]:
    trainer = network_lab.Trainer(network_lab.config(body))
    session.set_trainer(trainer)
    return {"points": trainer.points(), "snapshot": trainer.snapshot()}


def _control(session: Session, body: dict[str, Any]) -> dict[str, Any]:
    return _trainer(session).control(str(body.get("action", "")))


def _inspect(session: Session, body: dict[str, Any]) -> dict[str, Any]:
    layer = integer(body, "layer", 0, 64, 0)
    row = integer(body, "row", 0, 64, 0)
    col = None if body.get("col") is None else integer(body, "col", 0, 64, 0)
    return _trainer(session).inspect(layer, row, col)


def _stream(sessions: Sessions) -> Callable[[Request], Awaitable[Response]]:
    """Server-sent events: the session's latest snapshot whenever it changes (`limit` ends the
    stream after that many events, for tests)."""

    async def endpoint(request: Request) -> Response:
        try:
            session = sessions.get(request.query_params.get("session"))
            limit = int(request.query_params.get("limit", "0"))
        except (PlaygroundError, ValueError) as error:
            return _error(400, str(error))

        async def events() -> AsyncIterator[str]:
            seen, sent = None, 0
            while not await request.is_disconnected():
                trainer = session.trainer
                snap = trainer.snapshot() if trainer is not None else None
                if snap is not None and (id(trainer), snap.get("version")) != seen:
                    seen = (id(trainer), snap.get("version"))
                    text = await run_in_threadpool(json.dumps, snap)
                    yield f"data: {text}\n\n"
                    sent += 1
                    if limit and sent >= limit:
                        return
                await asyncio.sleep(network_lab.PUBLISH_EVERY / 2)

        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        return StreamingResponse(events(), media_type="text/event-stream", headers=headers)

    return endpoint


def _page(name: str) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        return FileResponse(STATIC / name, media_type="text/html")

    return endpoint


def create_app(sessions: Sessions | None = None) -> Starlette:
    """The playground as an ASGI application (serve it with uvicorn, or `chainrule
    playground`). `app.state.sessions` holds the tabs' sessions."""
    sessions = sessions if sessions is not None else Sessions()

    async def presets(request: Request) -> Response:
        return JSONResponse(PRESETS)

    routes: list[BaseRoute] = [Route(path, _page(name)) for path, name in PAGES.items()]
    for path, handler in [
        ("/api/expression", _expression),
        ("/api/expression/step", _step),
        ("/api/expression/check", _check),
        ("/api/network", _network),
        ("/api/network/control", _control),
        ("/api/network/inspect", _inspect),
    ]:
        routes.append(Route(path, _api(sessions, handler), methods=["POST"]))
    routes += [
        Route("/api/network/stream", _stream(sessions)),
        Route("/api/presets", presets),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        sessions.close()  # stop every training thread

    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.sessions = sessions
    return app
