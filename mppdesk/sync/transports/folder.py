"""The folder drop: submissions written into a folder the agency collects from.

For an agency with no API but a shared folder (an SMB share, a synced directory). The
contract, from the desk's side (docs/transports.md has the agency's side):

- Each submission is one folder ``<drop_dir>/<submission_id>/`` holding ``submission.json``
  (the frozen canonical payload, byte for byte) and ``attachments/<sha256>`` for each file
  the payload lists (name, type and size are in the payload; files are named by content, so
  no name from the data ever becomes a path).
- It appears at once and complete: written under a hidden temporary name in the same folder
  (``.<submission_id>.<random>.tmp``), every file and folder fsynced, then renamed. A crash
  before the rename leaves only the hidden name, which the collector ignores and the next
  attempt removes.
- Delivery is confirmed only by the agency's receipt, ``<drop_dir>/<submission_id>.receipt.json``
  (at most 64 KiB, written atomically by the agency): ``{"submission_id": …, "result":
  "accepted", "agency_ref": …, "status": "received"}`` or ``{"submission_id": …, "result":
  "rejected", "message": …, "fields": {…}}``. A receipt that does not parse, is too large,
  is not a regular file or names another submission is never an acceptance: it is an answer
  outside the contract (retried, flagged for a supervisor after
  ``[sync] protocol_error_flag_after`` in a row).
- Until the receipt comes, the entry waits (checked every ``receipt_check_s``, no attempt
  burnt). A submission folder that is gone without a receipt is dropped again (same id, same
  bytes: the agency must treat a second drop of an id as the same submission).
- The agency may rewrite the receipt later with a newer ``status`` (processing, completed
  …); status pulls read it.

A missing drop folder (share not mounted), or one the desk may not write, pauses the agency
with that reason; a full disk or an I/O error is a retry.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import re
import secrets
import shutil
import stat
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from mppdesk.core import sync_policy as policy
from mppdesk.core.billing import with_billing
from mppdesk.core.states import AgencyStatus
from mppdesk.core.sync_policy import Outcome, OutcomeKind, protocol_error
from mppdesk.settings import AgencyEndpoint
from mppdesk.sync.transports import (
    ABORTED,
    Attachment,
    Delivery,
    Progress,
    Transport,
    TransportContext,
)

log = logging.getLogger(__name__)

PAYLOAD_NAME = "submission.json"
ATTACHMENTS_DIR = "attachments"
RECEIPT_SUFFIX = ".receipt.json"
RECEIPT_MAX_BYTES = 64 * 1024
MAX_ATTACHMENTS = 1000  # per submission; intake allows far fewer
MAX_FIELDS = 100  # per-field reasons kept from a rejection receipt
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_NONBLOCK = getattr(os, "O_NONBLOCK", 0)  # a FIFO planted as a receipt must not hang us
_O_DIRECTORY = getattr(os, "O_DIRECTORY", None)
_NOT_OURS = (errno.EACCES, errno.EPERM, errno.EROFS)


class FolderDropTransport(Transport):
    """Drops into one folder; safe for concurrent deliveries of different submissions."""

    name = "folder"

    def __init__(self, endpoint: AgencyEndpoint, context: TransportContext) -> None:
        if not endpoint.drop_dir or not os.path.isabs(endpoint.drop_dir):
            raise ValueError(
                f"agency {endpoint.code!r}: the folder drop needs drop_dir, the absolute "
                f"folder the agency collects from (got {endpoint.drop_dir!r})"
            )
        self.root = Path(endpoint.drop_dir)
        self.check_s = endpoint.receipt_check_s
        self.context = context

    def __repr__(self) -> str:
        return f"FolderDropTransport({str(self.root)!r})"

    # --- the port ---------------------------------------------------------------------

    def deliver(self, delivery: Delivery, progress: Progress) -> Outcome:
        sid = delivery.submission_id
        refused = _refusal(delivery)
        if refused is not None:
            return refused
        problem = self._folder_problem()
        if problem is not None:
            return problem
        receipt = self._read_receipt(sid)
        if receipt is not None:
            return receipt
        if os.path.lexists(self.root / sid):
            return self._awaiting(sid)
        if self.context.cancel.is_set():
            return ABORTED
        try:
            self._drop(delivery, progress)
        except OSError as exc:
            return self._write_failed(exc)
        log.info("dropped %s into %s", sid, self.root)
        return self._awaiting(sid)

    def poll_status(self, submission_id: str) -> Outcome:
        """The receipt again: the agency rewrites it with newer statuses."""
        if not _UUID.match(submission_id):
            return protocol_error("schema", "not a submission id")
        problem = self._folder_problem()
        if problem is not None:
            return Outcome(OutcomeKind.RETRY, problem.reason, problem.message)
        receipt = self._read_receipt(submission_id)
        if receipt is None:
            return Outcome(
                OutcomeKind.RETRY,
                "receipt_gone",
                f"the receipt of {submission_id} is no longer in {self.root}",
            )
        if receipt.kind is OutcomeKind.FAILED:  # refused after all: the agency's status word
            return Outcome(
                OutcomeKind.DELIVERED,
                "receipt",
                receipt.message,
                agency_status=AgencyStatus.REJECTED.value,
            )
        return receipt

    def health(self) -> bool | None:
        return self._folder_problem() is None

    # --- the drop ---------------------------------------------------------------------

    def _folder_problem(self) -> Outcome | None:
        """The drop folder as configuration: missing, not a folder, or not ours to write."""
        where = str(self.root)
        try:
            mode = os.stat(self.root).st_mode
        except FileNotFoundError:
            return _paused("drop_dir_missing", f"the agency's drop folder {where} does not exist "
                           "(share not mounted?)")
        except OSError as exc:
            return _paused("drop_dir_unreadable", f"the drop folder {where}: {exc.strerror}")
        if not stat.S_ISDIR(mode):
            return _paused("drop_dir_missing", f"the drop folder {where} is not a folder")
        if not os.access(self.root, os.W_OK | os.X_OK):
            return _paused("drop_dir_unwritable", f"this desk may not write into {where}")
        return None

    def _drop(self, delivery: Delivery, progress: Progress) -> None:
        """Write the submission under a hidden name, fsync it all, then rename it into view."""
        sid = delivery.submission_id
        final = self.root / sid
        for leftover in self.root.glob(f".{sid}.*.tmp"):  # a crash before a rename
            shutil.rmtree(leftover, ignore_errors=True)
        temp = self.root / f".{sid}.{secrets.token_hex(6)}.tmp"
        os.mkdir(temp)
        shown = False
        try:
            _write_file(temp / PAYLOAD_NAME, delivery.payload)
            if delivery.attachments:
                folder = temp / ATTACHMENTS_DIR
                os.mkdir(folder)
                written: set[str] = set()
                for attachment in delivery.attachments:
                    if attachment.sha256 not in written:
                        _write_file(folder / attachment.sha256, progress.read(attachment))
                        written.add(attachment.sha256)
                _fsync_dir(folder)
            _fsync_dir(temp)
            try:
                os.rename(temp, final)  # atomic: the collector sees all of it or nothing
            except OSError:
                if not os.path.lexists(final):
                    raise
                return  # dropped meanwhile by another attempt: the same bytes
            shown = True
            _fsync_dir(self.root)
        finally:
            if not shown:
                shutil.rmtree(temp, ignore_errors=True)

    def _write_failed(self, exc: OSError) -> Outcome:
        why = exc.strerror or type(exc).__name__
        if exc.errno in _NOT_OURS:
            return _paused("drop_dir_unwritable", f"cannot write into {self.root}: {why}")
        if exc.errno == errno.ENOENT:
            return _paused("drop_dir_missing", f"the drop folder {self.root} went away: {why}")
        return Outcome(OutcomeKind.RETRY, "drop_failed", f"writing into {self.root}: {why}")

    def _awaiting(self, sid: str) -> Outcome:
        return Outcome(
            OutcomeKind.RETRY,
            "awaiting_receipt",
            f"in {self.root}, waiting for the agency's receipt {sid}{RECEIPT_SUFFIX}",
            retry_after_s=self.check_s,
            waiting=True,
        )

    def _read_receipt(self, sid: str) -> Outcome | None:
        """The judged receipt of ``sid``, or None when there is none yet."""
        path = self.root / f"{sid}{RECEIPT_SUFFIX}"
        try:
            fd = os.open(path, os.O_RDONLY | _O_NOFOLLOW | _O_NONBLOCK)
        except FileNotFoundError:
            return None
        except OSError as exc:  # a link (ELOOP), no permission ...
            return protocol_error("unverified", f"receipt {path.name} unreadable: {exc.strerror}")
        with os.fdopen(fd, "rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode):
                return protocol_error("schema", f"receipt {path.name} is not a regular file")
            oversize = protocol_error(
                "too_large", f"receipt {path.name} over {RECEIPT_MAX_BYTES} bytes"
            )
            if info.st_size > RECEIPT_MAX_BYTES:
                return oversize
            data = handle.read(RECEIPT_MAX_BYTES + 1)  # it may grow while we read
        if len(data) > RECEIPT_MAX_BYTES:
            return oversize
        return judge_receipt(data, sid)


def judge_receipt(data: bytes, submission_id: str) -> Outcome:
    """What a receipt's bytes say about ``submission_id`` (pure; see the module docstring)."""
    try:
        body: Any = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return protocol_error("bad_json", "the receipt does not parse (cut off, or still written?)")
    if not isinstance(body, dict):
        return protocol_error("not_object", "the receipt is not a JSON object")
    named = body.get("submission_id")
    if named != submission_id:
        return protocol_error(
            "other_submission",
            f"the receipt names submission {str(named)[:40]!r}, not {submission_id}",
        )
    message = body.get("message")
    message = message[: policy.MESSAGE_MAX] if isinstance(message, str) else ""
    result = body.get("result")
    if result == "rejected":
        return Outcome(
            OutcomeKind.FAILED,
            "validation",
            message or "the agency refused the submission (rejection receipt)",
            fields=_fields(body.get("fields")),
        )
    if result != "accepted":
        return protocol_error("schema", f"receipt result {str(result)[:40]!r} is not accepted "
                              "or rejected")
    ref = body.get("agency_ref")
    limit = policy.AGENCY_REF_MAX
    if not isinstance(ref, str) or not 1 <= len(ref) <= limit or not ref.isprintable():
        return protocol_error(
            "schema", f"the receipt's agency_ref must be printable text of 1 to {limit} characters"
        )
    status = body.get("status", "received")
    if not isinstance(status, str) or status not in policy.AGENCY_STATUS_WORDS:
        return protocol_error("unknown_status", f"receipt status {str(status)[:40]!r} is unknown")
    accepted = Outcome(OutcomeKind.DELIVERED, "receipt", message, agency_ref=ref, agency_status=status)
    # A bill in the receipt is read as in a status answer: a malformed one is not stored.
    return with_billing(accepted, body, status=True)


def _refusal(delivery: Delivery) -> Outcome | None:
    """What no folder drop can carry: ids and hashes become paths, so they are checked."""
    if not _UUID.match(delivery.submission_id):
        return _flagged(f"{delivery.submission_id[:40]!r} is not a submission id")
    if len(delivery.attachments) > MAX_ATTACHMENTS:
        return _flagged(f"{len(delivery.attachments)} attachments, over {MAX_ATTACHMENTS}")
    bad = [a for a in delivery.attachments if not _SHA256.match(a.sha256)]
    if bad:
        return _flagged(f"attachment {_name(bad[0])} has no valid sha256")
    return None


def _name(attachment: Attachment) -> str:
    return repr(attachment.name[:60])


def _flagged(why: str) -> Outcome:
    return Outcome(OutcomeKind.FLAGGED, "drop_refused", f"cannot drop this entry: {why}")


def _paused(reason: str, message: str) -> Outcome:
    return Outcome(OutcomeKind.PAUSED, reason, message)


def _fields(raw: Any) -> Mapping[str, str]:
    if not isinstance(raw, dict):
        return MappingProxyType({})
    kept = list(raw.items())[:MAX_FIELDS]
    return MappingProxyType({str(k)[:100]: str(v)[:500] for k, v in kept})


def _write_file(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_NOFOLLOW, 0o666)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _fsync_dir(path: Path) -> None:
    """Make a folder's entries durable (POSIX); Windows has no directory handle for it."""
    if _O_DIRECTORY is None:
        return
    fd = os.open(path, os.O_RDONLY | _O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
