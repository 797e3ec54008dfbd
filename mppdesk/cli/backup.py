"""``mppdesk backup --to DIR`` and ``mppdesk restore FROM``: the desk off the PC and back.

Run as the OS account that owns the data dir (like ``init``), with the desk key. Exit codes:
0 done; 1 the target or the backup is unusable (missing, full, damaged), nothing half-written
left; 2 the data dir already holds a desk (add ``--force``); 4 the backup belongs to another
desk key.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from mppdesk.cli import EXIT_ERROR, EXIT_INVALID, EXIT_OK, EXIT_REFUSED
from mppdesk.cli.common import (
    add_data_dir_option,
    data_dir_from,
    message_language,
    opened_runtime,
    run_desk_command,
    say,
)


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "backup", help="write an encrypted copy of the desk to a USB disk or network share"
    )
    add_data_dir_option(p)
    p.add_argument(
        "--to",
        dest="target",
        type=Path,
        required=True,
        metavar="DIR",
        help="an existing folder; the backup becomes DIR/mppdesk-backup-<desk>-<time>/",
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_backup)

    p = subparsers.add_parser("restore", help="bring a desk back from a backup folder")
    p.add_argument("source", type=Path, metavar="FROM", help="a mppdesk-backup-… folder")
    p.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="where to restore (default: MPPDESK_DATA_DIR or the user data dir)",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="replace a desk already in the data dir (it is moved to replaced-<time>/)",
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_restore)


def _backup(args: argparse.Namespace) -> int:
    def run() -> int:
        from mppdesk.desk.backup import make_backup, record_status

        with opened_runtime(args) as runtime:
            try:
                result = make_backup(runtime, args.target)
            except Exception as exc:
                record_status(runtime.data_dir, at=runtime.now(), result=None, error=exc)
                raise
            record_status(runtime.data_dir, at=result.created_at, result=result, error=None)
        if args.json:
            print(
                json.dumps(
                    {
                        "path": str(result.path),
                        "created_at": result.created_at.isoformat(),
                        "files": result.files,
                        "bytes": result.bytes,
                        "counts": result.counts,
                        "encrypted": result.encrypted,
                        "missing_attachments": result.missing_attachments,
                        "seconds": round(result.seconds, 3),
                    },
                    indent=2,
                )
            )
        else:
            print(
                say(
                    "cli.backup_written",
                    args,
                    path=str(result.path),
                    files=result.files,
                    megabytes=f"{result.bytes / 1_000_000:.1f}",
                    submissions=result.counts.get("submissions", 0),
                    seconds=f"{result.seconds:.1f}",
                )
            )
        if not result.encrypted:
            print(say("cli.backup_unencrypted", args), file=sys.stderr)
        if result.missing_attachments:
            print(
                say("cli.backup_missing_attachments", args, count=len(result.missing_attachments)),
                file=sys.stderr,
            )
        return EXIT_OK

    return _run(run, args)


def _restore(args: argparse.Namespace) -> int:
    def run() -> int:
        from mppdesk.desk.auth import os_actor
        from mppdesk.desk.backup import restore_backup

        result = restore_backup(
            args.source, data_dir_from(args), force=args.force, actor=os_actor().username
        )
        if args.json:
            print(
                json.dumps(
                    {
                        "data_dir": str(result.data_dir),
                        "backup": result.backup,
                        "files": result.files,
                        "bytes": result.bytes,
                        "schema_version": result.schema_version,
                        "counts": result.counts,
                        "requeued_in_flight": result.requeued_in_flight,
                        "moved_aside": str(result.moved_aside) if result.moved_aside else None,
                        "audit_ok": result.audit_ok,
                        "seconds": round(result.seconds, 3),
                    },
                    indent=2,
                )
            )
        else:
            print(
                say(
                    "cli.restored",
                    args,
                    backup=result.backup,
                    data_dir=str(result.data_dir),
                    submissions=result.counts.get("submissions", 0),
                    files=result.files,
                    requeued=result.requeued_in_flight,
                    seconds=f"{result.seconds:.1f}",
                )
            )
            if result.moved_aside:
                print(say("cli.restore_moved_aside", args, path=str(result.moved_aside)))
        if not result.audit_ok:
            print(say("cli.restore_audit_bad", args), file=sys.stderr)
            return EXIT_ERROR
        return EXIT_OK

    return _run(run, args)


def _run(run, args: argparse.Namespace) -> int:
    from mppdesk.desk.backup import BackupConflict, BackupKeyMismatch
    from mppdesk.store.keys import KeyFileError

    def guarded() -> int:
        try:
            return run()
        except BackupKeyMismatch as exc:
            print(
                say("cli.refused", args, message=exc.text(message_language(args))), file=sys.stderr
            )
            return EXIT_REFUSED
        except BackupConflict as exc:
            print(
                say("cli.refused", args, message=exc.text(message_language(args))), file=sys.stderr
            )
            return EXIT_INVALID
        except KeyFileError as exc:
            print(say("cli.error", args, message=str(exc)), file=sys.stderr)
            return EXIT_ERROR

    return run_desk_command(guarded)
