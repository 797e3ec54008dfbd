"""``mppdesk`` commands as processes forked from one that imported the desk once.

The chaos tests kill ``mppdesk sync`` many times; starting Python and importing the desk
(SQLAlchemy, the catalog, the HTTP stack) cost about a second a process, more than the work
between two kills. This process imports once, then forks one per request: each fork runs
the real command line (``mppdesk.cli.main``) with its own store connections and its own
threads, and dies by SIGKILL like any other process.

``cli_forker.py [DATA_DIR]``: the data dir, if given, is opened (and closed) once first.

Protocol, a line each way. In: a JSON list of arguments (one command to fork); an empty
line or end of input ends this process. Out, each line written whole: ``child PID`` when a
command starts; then the command's stderr lines (its progress), prefixed ``err ``; then
``exited PID`` when it has ended; after a ``reap`` line in, ``dead PID STATUS`` (the raw
wait status). Reaped only when asked, an ended process keeps its pid until the parent has
sent its kill, which so never reaches a reused pid.
"""

from __future__ import annotations

import json
import os
import sys
import traceback


def _run_child(args: list[str]) -> None:
    """In the forked process: stdout to nothing (stderr is the relay pipe), run, exit."""
    status = 1
    try:
        print(f"child {os.getpid()}", flush=True)
        sink = os.open(os.devnull, os.O_WRONLY)
        os.dup2(sink, 1)
        os.close(sink)
        from mppdesk.cli import main

        status = main(args)
    except SystemExit as stop:
        status = stop.code if isinstance(stop.code, int) else 1
    except BaseException:  # noqa: BLE001 - told on stderr, then this process ends
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)


def main() -> None:
    import mppdesk.cli  # noqa: F401 - the imports every command shares, paid once
    import mppdesk.cli.sync  # noqa: F401
    import mppdesk.sync.worker  # noqa: F401

    if len(sys.argv) > 1:  # a data dir opened once: the catalog and migrations load here
        from pathlib import Path

        from mppdesk.desk.runtime import open_runtime

        open_runtime(Path(sys.argv[1]), create=False).close()  # no connection crosses a fork
    print("ready", flush=True)
    while line := sys.stdin.readline().strip():
        args = json.loads(line)
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read_fd)
            os.dup2(write_fd, 2)
            os.close(write_fd)
            _run_child(args)
        os.close(write_fd)
        with os.fdopen(read_fd, "r", errors="replace") as stderr:
            for err in stderr:
                print("err " + err.rstrip("\n"), flush=True)
        print(f"exited {pid}", flush=True)  # a zombie until the parent says "reap"
        sys.stdin.readline()
        _, status = os.waitpid(pid, 0)
        print(f"dead {pid} {status}", flush=True)


if __name__ == "__main__":
    main()
