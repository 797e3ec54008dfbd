"""The waiting-room display: ``GET /display`` is a page for a TV, ``GET /display/state`` the
JSON it polls every second.

Per group the page shows the ticket called last, in type readable from 5 m, with the counter to
go to ("Loket K03"), the few called before it and how many still wait; a new call flashes.
Bahasa Indonesia. No token: the page shows numbers and counters only, never a name or a NIK,
and carries no secret (it is meant for a screen anyone in the hall can see).

A call is on the screen within 2 s: the page asks every ``POLL_MS`` and the state is cached for
at most ``CACHE_S`` so a hall of screens costs the database one query each time, not one per
screen. Short polling rather than server-sent events: a TV browser's kiosk mode, a proxy or a
sleep of the screen never leaves a stream half-open, and every answer is whole.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from typing import Any

from sqlalchemy.exc import DBAPIError, OperationalError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from mppdesk.hub import tickets
from mppdesk.hub.store import HubStore

POLL_MS = 500
CACHE_S = 0.25


class _StateCache:
    """The display state for CACHE_S seconds (one query for every screen of the hall)."""

    def __init__(self, store: HubStore):
        self.store = store
        self._lock = threading.Lock()
        self._at = -1e9
        self._value: dict[str, Any] | None = None

    def get(self) -> dict[str, Any]:
        with self._lock:
            if self._value is None or time.monotonic() - self._at > CACHE_S:
                self._value = tickets.display_state(self.store)
                self._at = time.monotonic()
            return self._value


_PAGE = """<!doctype html>
<html lang="id">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Antrean · Mal Pelayanan Publik</title>
<style nonce="__NONCE__">
  :root { --bg:#0b2545; --card:#13315c; --ink:#ffffff; --soft:#b9c8e0; --hot:#f4d35e; }
  * { box-sizing: border-box; }
  html, body { margin:0; height:100%; background:var(--bg); color:var(--ink);
    font-family: "DejaVu Sans", "Noto Sans", Arial, sans-serif; }
  header { display:flex; justify-content:space-between; align-items:center;
    padding: 1.2vh 2.5vw; background:#081a33; }
  header h1 { margin:0; font-size: clamp(24px, 3.2vw, 64px); letter-spacing: .02em; }
  #clock { font-size: clamp(24px, 3.2vw, 64px); font-variant-numeric: tabular-nums; }
  main { display:grid; gap: 1.6vw; padding: 1.6vw;
    grid-template-columns: repeat(auto-fit, minmax(max(300px, 30vw), 1fr));
    align-items: start; }
  .group { background:var(--card); border-radius: 14px; padding: 1.4vw 1.8vw; }
  .group h2 { margin:0 0 .4vh 0; font-size: clamp(22px, 2.4vw, 48px); color:var(--soft);
    text-transform: uppercase; }
  .now { font-size: clamp(64px, 7vw, 180px); font-weight: 700; line-height: 1.05;
    font-variant-numeric: tabular-nums; white-space: nowrap; }
  .counter { font-size: clamp(28px, 2.8vw, 72px); font-weight: 700; color: var(--hot); }
  .where { white-space: nowrap; }
  .before { margin-top: .8vh; font-size: clamp(20px, 2vw, 40px); color: var(--soft); }
  .waiting { margin-top: .6vh; font-size: clamp(18px, 1.7vw, 34px); color: var(--soft); }
  .flash { animation: flash 1s ease-in-out 4; }
  @keyframes flash { 50% { background: #f4d35e; color: #0b2545; } }
  .flash .counter { color: inherit; }
  #empty { font-size: clamp(28px, 3vw, 60px); color: var(--soft); padding: 4vh 2.5vw; }
  #stale { display:none; position:fixed; bottom:0; left:0; right:0; text-align:center;
    background:#a4161a; font-size: clamp(18px, 1.6vw, 32px); padding: .6vh; }
</style>
</head>
<body>
<header><h1>Nomor Antrean Dipanggil</h1><div id="clock"></div></header>
<main id="groups"></main>
<div id="empty" hidden>Belum ada nomor yang dipanggil hari ini.</div>
<div id="stale">Menghubungkan kembali ke server antrean…</div>
<script type="application/json" id="initial">__STATE__</script>
<script nonce="__NONCE__">
"use strict";
const POLL_MS = __POLL_MS__;
let shown = {};
function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
}
function render(state) {
  const main = document.getElementById("groups");
  const fresh = {};
  main.replaceChildren();
  for (const g of state.groups) {
    const card = el("section", "group");
    card.dataset.group = g.group;
    card.appendChild(el("h2", "", g.label ? g.group + " · " + g.label : "Antrean " + g.group));
    const latest = g.calls[0];
    if (latest) {
      card.appendChild(el("div", "now", latest.number));
      const where = el("div", "counter", "Silakan ke ");
      where.appendChild(el("span", "where", "Loket " + latest.counter));
      card.appendChild(where);
      fresh[g.group] = latest.number + "@" + latest.at;
      if (shown[g.group] !== undefined && shown[g.group] !== fresh[g.group]) {
        card.classList.add("flash");
      }
    } else {
      card.appendChild(el("div", "now", "—"));
    }
    const before = g.calls.slice(1).map(c => c.number + " → " + c.counter);
    if (before.length) card.appendChild(el("div", "before", "Sebelumnya: " + before.join(" · ")));
    card.appendChild(el("div", "waiting", "Menunggu: " + g.waiting + " orang"));
    main.appendChild(card);
  }
  shown = fresh;
  document.getElementById("empty").hidden = state.groups.length > 0;
}
function tick() {
  const now = new Date();
  document.getElementById("clock").textContent =
    now.toLocaleTimeString("id-ID", {hour: "2-digit", minute: "2-digit", second: "2-digit"});
}
async function poll() {
  try {
    const answer = await fetch("/display/state", {cache: "no-store", signal: AbortSignal.timeout(5000)});
    if (!answer.ok) throw new Error("HTTP " + answer.status);
    render(await answer.json());
    document.getElementById("stale").style.display = "none";
  } catch (e) {
    document.getElementById("stale").style.display = "block";
  }
  setTimeout(poll, POLL_MS);
}
render(JSON.parse(document.getElementById("initial").textContent));
tick(); setInterval(tick, 1000);
setTimeout(poll, POLL_MS);
</script>
</body>
</html>
"""


def page(state: dict[str, Any], nonce: str) -> str:
    """The page with the state it opens on (JSON made safe inside a script element)."""
    data = json.dumps(state, ensure_ascii=True).replace("<", "\\u003c").replace(">", "\\u003e")
    return (
        _PAGE.replace("__NONCE__", nonce)
        .replace("__POLL_MS__", str(POLL_MS))
        .replace("__STATE__", data)
    )


def routes(store: HubStore) -> list[Route]:
    cache = _StateCache(store)

    async def display_page(request: Request) -> Response:
        nonce = secrets.token_urlsafe(16)
        state = await run_in_threadpool(cache.get)
        return HTMLResponse(
            page(state, nonce),
            headers={
                "Cache-Control": "no-store",
                "Content-Security-Policy": (
                    f"default-src 'self'; script-src 'nonce-{nonce}'; "
                    f"style-src 'nonce-{nonce}'; img-src 'none'; frame-ancestors 'none'"
                ),
                "X-Content-Type-Options": "nosniff",
            },
        )

    async def display_state(request: Request) -> Response:
        try:
            state = await run_in_threadpool(cache.get)
        except (OperationalError, DBAPIError):  # the page shows "reconnecting" and asks again
            return JSONResponse(
                {"error": {"code": "unavailable", "message": "the hub database is unavailable"}},
                status_code=503,
            )
        return JSONResponse(state, headers={"Cache-Control": "no-store"})

    return [
        Route("/display", display_page, methods=["GET"]),
        Route("/display/state", display_state, methods=["GET"]),
    ]
