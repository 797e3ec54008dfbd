"""The hub's HTTP face: a Starlette app over :class:`mppdesk.hub.store.HubStore`.

The request path is: size cap (413) → bearer token and ``X-MPP-Desk`` (401) → per-desk rate
limit (429 + Retry-After) → the store, run in the thread pool so a slow database never blocks
the event loop. Every answer that is not 200 has the contract's error shape. Log lines name the
desk, the route and the status — never a body, so never a NIK or a name.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import math
import os
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from sqlalchemy.exc import DBAPIError, OperationalError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mppdesk.core.masking import mask_diagnostic
from mppdesk.hub.store import Desk, HubError, HubStore, token_sha256

log = logging.getLogger("mppdesk.hub")

MAX_BODY = 8 * 1024 * 1024
DRAIN_LIMIT = 4 * MAX_BODY
RATE_PER_SECOND = 50.0
CONTRACT_VERSION = 1
# Pushes stored at once; the others wait their turn on the event loop (their bodies already
# read). A push is mostly Python holding the GIL (sealing, the chain check) and a few short
# statements: far more in flight than cores only adds GIL and CPU contention, too few leaves
# the cores idle while pushes wait on PostgreSQL. Measured on 2 cores, 20 desks pushing
# 44,000 records at once: 20 in flight 32-39k records/s at 17-21 µs of hub CPU a record;
# 4 in flight 40-44k/s at 14-15 µs; 8 about the same, and ahead of 4 on a loaded machine
# (where each push waits longer for a CPU between its round trips).
PUSH_CONCURRENCY = max(8, 4 * (os.cpu_count() or 1))


class RateLimiter:
    """A token bucket per desk: ``rate`` requests a second, bursts up to ``rate``."""

    def __init__(self, rate: float = RATE_PER_SECOND, burst: float | None = None):
        self.rate = rate
        self.burst = burst if burst is not None else rate
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    MAX_KEYS = 10_000  # random bearer tokens must not grow the table without bound

    def take(self, key: str) -> float:
        """0 when the request may go, else the seconds until one would."""
        now = time.monotonic()
        with self._lock:
            if len(self._buckets) >= self.MAX_KEYS and key not in self._buckets:
                # Buckets idle long enough to be full again carry no information: drop them.
                refill = self.burst / self.rate
                self._buckets = {
                    k: v for k, v in self._buckets.items() if now - v[1] < refill
                }
                if len(self._buckets) >= self.MAX_KEYS:
                    return 1.0
            tokens, last = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.rate


def _error(status: int, code: str, message: str, **extra: Any) -> JSONResponse:
    headers = {}
    if "retry_after" in extra:
        headers["Retry-After"] = str(extra.pop("retry_after"))
    return JSONResponse(
        {"error": {"code": code, "message": message, **extra}}, status_code=status, headers=headers
    )


async def _read_json(request: Request) -> Any:
    """The body as JSON, at most MAX_BODY bytes.

    A body over the cap is read to its end (up to DRAIN_LIMIT) and thrown away before the 413
    goes out: a client still sending would otherwise see a reset connection instead of the
    answer that tells it what went wrong.
    """
    declared = request.headers.get("content-length")
    if declared is not None and not declared.isdigit():
        raise HubError(400, "invalid", "bad Content-Length", field="content-length")
    chunks = []
    size = 0
    too_large = declared is not None and int(declared) > MAX_BODY
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            too_large = True
            chunks.clear()
            if size > DRAIN_LIMIT:
                break
        elif not too_large:
            chunks.append(chunk)
    if too_large:
        raise HubError(413, "too_large", f"a request body is at most {MAX_BODY} bytes")
    try:
        return orjson.loads(b"".join(chunks) or b"null")
    except (UnicodeDecodeError, ValueError):  # orjson.JSONDecodeError is a ValueError
        raise HubError(400, "invalid", "the body is not JSON", field="body") from None


def _object(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise HubError(400, "invalid", "the body is a JSON object", field="body")
    return value


Handler = Callable[[Request, Desk, HubStore], Awaitable[Response]]


def _desk_call(
    handler: Handler,
    store: HubStore,
    limiter: RateLimiter,
    *,
    authenticated_by_handler: bool = False,
) -> Callable[[Request], Awaitable[Response]]:
    """Wrap a handler: bearer token, rate limit, desk authentication, error mapping, masked log."""
    async def endpoint(request: Request) -> Response:
        started = time.perf_counter()
        desk_code = request.headers.get("x-mpp-desk", "")
        status = 500
        try:
            auth = request.headers.get("authorization", "")
            scheme, _, token = auth.partition(" ")
            if scheme.lower() != "bearer" or not token.strip() or not desk_code:
                raise HubError(
                    401, "unauthorized", "Authorization: Bearer and X-MPP-Desk are required"
                )
            wait = limiter.take(token_sha256(token.strip()))
            if wait > 0:
                raise HubError(
                    429,
                    "rate_limited",
                    "too many requests from this desk",
                    retry_after=max(1, math.ceil(wait)),
                )
            request.state.token = token.strip()
            if authenticated_by_handler:
                desk = Desk(desk_code[:16])
            else:
                desk = await run_in_threadpool(store.authenticate, token.strip(), desk_code)
            head = request.headers.get("x-mpp-journal-head", "")
            if head.isdigit() and request.url.path == "/v1/pull":
                await run_in_threadpool(store.note_journal_head, desk, int(head))
            response = await handler(request, desk, store)
        except HubError as exc:
            response = _error(exc.status, exc.code, exc.message, **exc.extra)
        except (OperationalError, DBAPIError) as exc:
            log.error("database unavailable: %s", mask_diagnostic(type(exc).__name__))
            response = _error(503, "unavailable", "the hub database is unavailable")
        except ClientDisconnect:
            # The desk went away mid-request (killed, network cut): nothing of the batch was
            # stored and the desk sends it again. Not an error of the hub.
            response = Response(status_code=499)
        except Exception as exc:  # noqa: BLE001 - the boundary: log masked, answer 500
            log.error("internal error: %s", mask_diagnostic(type(exc).__name__))
            response = _error(500, "internal", "internal error at the hub")
        status = response.status_code
        log.info(
            "%s %s desk=%s status=%d %.1fms",
            request.method,
            request.url.path,
            desk_code[:16] or "-",
            status,
            (time.perf_counter() - started) * 1000,
        )
        return response

    return endpoint


async def health(request: Request) -> Response:
    return JSONResponse({"ok": True, "contract": CONTRACT_VERSION})


async def push(request: Request, desk: Desk, store: HubStore) -> Response:
    body = _object(await _read_json(request))
    if body.get("desk") != desk.code:
        # Rare: authenticate first, so a caller without a token learns nothing but 401.
        await run_in_threadpool(store.authenticate, request.state.token, desk.code)
        raise HubError(400, "invalid", "desk does not match the token's desk", field="desk")
    async with request.app.state.push_gate:
        acked = await run_in_threadpool(
            functools.partial(store.push, desk, body.get("records"), token=request.state.token)
        )
    return JSONResponse({"acked": acked})


async def pull(request: Request, desk: Desk, store: HubStore) -> Response:
    try:
        since = int(request.query_params.get("since", "0"))
        if not 0 <= since < 2**63:
            raise ValueError
    except ValueError:
        raise HubError(400, "invalid", "since is a cursor (integer ≥ 0)", field="since") from None
    return JSONResponse(await run_in_threadpool(store.pull, desk, since))


async def login_failures(request: Request, desk: Desk, store: HubStore) -> Response:
    body = _object(await _read_json(request))
    username, ok = body.get("username"), body.get("ok")
    if not isinstance(username, str) or not username or len(username) > 64:
        raise HubError(400, "invalid", "username is required", field="username")
    if not isinstance(ok, bool):
        raise HubError(400, "invalid", "ok is true or false", field="ok")
    until = await run_in_threadpool(store.login_result, desk, username, ok)
    return JSONResponse({"locked_until": until})


async def lookup(request: Request, desk: Desk, store: HubStore) -> Response:
    officer = request.headers.get("x-mpp-officer", "")
    if not officer:
        raise HubError(400, "invalid", "X-MPP-Officer is required", field="X-MPP-Officer")
    body = _object(await _read_json(request))
    answer = await run_in_threadpool(
        store.lookup, desk, officer[:64], body.get("id_kind"), body.get("id_number")
    )
    return JSONResponse(answer)


async def resolve(request: Request, desk: Desk, store: HubStore) -> Response:
    body = _object(await _read_json(request))
    if "value" not in body:
        raise HubError(400, "invalid", "value is required", field="value")
    conflict_id = int(request.path_params["conflict_id"])
    if conflict_id >= 2**63:
        raise HubError(404, "not_found", "no open conflict with this id")
    version = await run_in_threadpool(
        store.resolve_conflict,
        request.headers.get("x-mpp-officer"),
        conflict_id,
        body["value"],
    )
    return JSONResponse({"applicant_version": version})


async def tickets(request: Request, desk: Desk, store: HubStore) -> Response:
    body = _object(await _read_json(request))
    return JSONResponse(await run_in_threadpool(store.next_ticket, desk, body.get("group")))


async def review_queue(request: Request, desk: Desk, store: HubStore) -> Response:
    items = await run_in_threadpool(store.review_queue, request.headers.get("x-mpp-officer"))
    return JSONResponse({"items": items})


async def review_decide(request: Request, desk: Desk, store: HubStore) -> Response:
    body = _object(await _read_json(request))
    answer = await run_in_threadpool(
        store.decide,
        request.headers.get("x-mpp-officer"),
        request.path_params["submission_id"],
        body.get("decision"),
        body.get("reason"),
    )
    return JSONResponse(answer)


async def daily(request: Request, desk: Desk, store: HubStore) -> Response:
    answer = await run_in_threadpool(
        store.daily_report,
        request.headers.get("x-mpp-officer"),
        request.query_params.get("date", ""),
    )
    return JSONResponse(answer)


async def _http_error(request: Request, exc: Exception) -> Response:
    status = getattr(exc, "status_code", 500)
    code = {404: "not_found", 405: "invalid"}.get(status, "invalid")
    return _error(status, code, str(getattr(exc, "detail", "error")))


def create_app(
    store: HubStore,
    *,
    rate_limiter: RateLimiter | None = None,
    push_concurrency: int | None = None,
) -> Starlette:
    """The ASGI app for one store; ``rate_limiter`` lets a test use a smaller bucket,
    ``push_concurrency`` bounds the pushes in the database at once (default PUSH_CONCURRENCY)."""
    from mppdesk.hub.ticket_api import routes as ticket_routes

    limiter = rate_limiter or RateLimiter()

    def call(handler: Handler, *, authenticated_by_handler: bool = False):  # type: ignore[no-untyped-def]
        return _desk_call(
            handler, store, limiter, authenticated_by_handler=authenticated_by_handler
        )

    routes = [
        Route("/v1/health", health, methods=["GET"]),
        Route("/v1/push", call(push, authenticated_by_handler=True), methods=["POST"]),
        Route("/v1/pull", call(pull), methods=["GET"]),
        Route("/v1/login-failures", call(login_failures), methods=["POST"]),
        Route("/v1/applicants/lookup", call(lookup), methods=["POST"]),
        Route(
            "/v1/conflicts/{conflict_id:int}/resolve", call(resolve), methods=["POST"]
        ),
        Route("/v1/tickets", call(tickets), methods=["POST"]),
        Route("/v1/review/queue", call(review_queue), methods=["GET"]),
        Route("/v1/review/{submission_id}", call(review_decide), methods=["POST"]),
        Route("/v1/reports/daily", call(daily), methods=["GET"]),
        *ticket_routes(call, store),  # the queue's lifecycle and the waiting-room display
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: _http_error})
    app.state.push_gate = asyncio.Semaphore(push_concurrency or PUSH_CONCURRENCY)
    return app


def served_routes(app: Starlette) -> set[tuple[str, str]]:
    """(method, path) of every route the app serves, for the contract test."""
    served = set()
    for route in app.routes:
        if isinstance(route, Route):
            path = route.path.replace(":int}", "}")
            for method in route.methods or ():
                if method != "HEAD":
                    served.add((method, path))
    return served
