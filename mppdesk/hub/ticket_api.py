"""The queue's routes on the hub (contract: resources/protocol/hub-sync.md, "Tickets").

Desk routes go through the app's desk wrapper (token, rate limit, error shape); the
waiting-room display's two routes (``mppdesk.hub.display``) need no token: they show ticket
numbers and counters only.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mppdesk.hub import tickets
from mppdesk.hub.store import Desk, HubError, HubStore


async def _body(request: Request) -> dict[str, Any]:
    from mppdesk.hub.app import _object, _read_json

    return _object(await _read_json(request))


def _officer(request: Request) -> str:
    return tickets.check_officer(request.headers.get("x-mpp-officer", ""))


async def take(request: Request, desk: Desk, store: HubStore) -> Response:
    body = await _body(request)
    answer = await run_in_threadpool(
        tickets.take, store, desk, body.get("group"), body.get("priority"), body.get("label")
    )
    return JSONResponse(answer)


async def call(request: Request, desk: Desk, store: HubStore) -> Response:
    body = await _body(request)
    walk_in = body.get("walk_in", False)
    if not isinstance(walk_in, bool):
        raise HubError(400, "invalid", "walk_in is true or false", field="walk_in")
    answer = await run_in_threadpool(
        functools.partial(
            tickets.call, store, desk, _officer(request), body.get("group"),
            walk_in=walk_in, label=body.get("label"),
        )
    )
    return JSONResponse({"ticket": answer})


async def state(request: Request, desk: Desk, store: HubStore) -> Response:
    """A step; ``resent`` ones carry the desk's time ``at`` (judged, never trusted)."""
    body = await _body(request)
    resent = body.get("resent", False)
    if not isinstance(resent, bool):
        raise HubError(400, "invalid", "resent is true or false", field="resent")
    answer = await run_in_threadpool(
        functools.partial(
            tickets.set_state, store, desk, _officer(request), request.path_params["number"],
            body.get("state"), day=tickets.check_day(body.get("day")), at=body.get("at"),
            resent=resent,
        )
    )
    return JSONResponse(answer)


async def stats(request: Request, desk: Desk, store: HubStore) -> Response:
    answer = await run_in_threadpool(
        tickets.stats, store, request.headers.get("x-mpp-officer"),
        request.query_params.get("date", ""),
    )
    return JSONResponse(answer)


def routes(call_as_desk: Callable[..., Any], store: HubStore) -> list[Route]:
    """The queue's routes; ``call_as_desk`` is the app's desk wrapper."""
    from mppdesk.hub import display

    return [
        Route("/v1/tickets/take", call_as_desk(take), methods=["POST"]),
        Route("/v1/tickets/call", call_as_desk(call), methods=["POST"]),
        Route("/v1/tickets/stats", call_as_desk(stats), methods=["GET"]),
        Route("/v1/tickets/{number}/state", call_as_desk(state), methods=["POST"]),
        *display.routes(store),
    ]
