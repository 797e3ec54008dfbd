"""The reference agency server: the sync protocol (resources/protocol/agency-sync.md) as a
program of its own, for the demo, the tests and the benchmarks, over real HTTP on loopback.

Standard library only (http.server, sqlite3, json) plus ``mppdesk.core``; nothing else of the
desk, so the desk's SQL stays in ``mppdesk.store`` and the sim stays an honest stranger.

Run it with ``mppdesk agency-sim --port 0 [--agencies a,b] [--db FILE] [--faults SPEC]
[--seed N] [--token AGENCY=TOKEN ...] [--advance-after S]``; the first line on stdout is
``listening on http://127.0.0.1:PORT``, and agency ``a`` is at ``http://127.0.0.1:PORT/a``.
In a test, ``AgencySim(SimConfig(...)).start()`` runs it in a thread.

What it does, beyond the contract's words (choices the protocol leaves open):

- POST ``/submissions``: 400 without ``Idempotency-Key``, ``X-MPP-Desk``, a JSON
  Content-Type or a JSON body; 409 ``in_progress`` while the same key is being processed;
  a key seen before answers 200 with the original 201 body byte for byte when the body is
  byte-identical, else 409 ``idempotency_conflict`` (the key is checked before the content,
  so a changed body never reaches validation); then 422 ``validation`` with ``fields``
  (see ``validation.py``, including that the body is canonical JSON); then 201.
- PUT ``/submissions/{id}/attachments/{name}``: 404 for an unknown submission; 422 when the
  name is not listed in the submission, ``X-Content-SHA256`` is missing or not the hash of
  the bytes; 409 ``attachment_conflict`` when the bytes' hash is not the one listed; 201
  the first time, 200 for the same bytes again. Content-Length is required (411).
- GET ``/submissions/{id}``: the status, ``missing_attachments`` until all listed files
  arrived; statuses only move once the files are complete (see ``store.py``).
- GET ``/health`` needs no token and ignores ``unauthorized_for``/``forbidden_for``.
- Credentials: with a token configured for the agency (or ``*``), a missing or unknown
  bearer token is 401; a token configured for another agency is 403.
- Admin (no token, never faulted): ``GET /_admin/stats``; ``GET|POST /_admin/faults``
  ``{"spec": SPEC, "seed": N?}`` (422 naming the bad rule); ``POST /_admin/advance``
  ``{"agency": A | null, "submission_id": ID | null}`` one step for one submission, an
  agency or everything; ``GET /_admin/submissions?agency=A``; ``POST /_admin/pay``
  ``{"agency": A, "submission_id": S}`` pays the bill (next status pull: paid with NTPN).
- Billing: a submission whose payload ``fee`` is above 0 gets a bill in its 201 answer and
  every status answer (``pnbp`` with a 15-digit SIMPONI code, or a regional/provider code;
  see ``store.bill_kind``), expiring ``billing_ttl_s`` (``--billing-ttl``) after receipt.

The fault SPEC grammar is in ``faults.py``'s docstring and ``--help``.
"""

from .faults import FaultPlan, FaultRule, FaultSpecError, parse_fault_spec
from .server import AgencySim, SimConfig

__all__ = [
    "AgencySim",
    "FaultPlan",
    "FaultRule",
    "FaultSpecError",
    "SimConfig",
    "parse_fault_spec",
]
