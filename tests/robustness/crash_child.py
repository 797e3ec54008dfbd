"""Desk processes that finalize visits in a loop until they are killed.

Started once, this process imports the desk, logs in, parses the visit and finalizes it
once (warming what every finalize needs), then closes its store and waits. Each ``fork`` line on stdin forks a fresh desk process that opens its own
store connections and finalizes visits until it is killed: a real process dying by
SIGKILL mid-transaction, without paying Python's start-up and the imports for every kill.

Lines on stdout, each written whole and flushed:
``child PID`` when a forked process starts; ``stored VISIT_ID N`` after each commit (N
submissions), so the parent knows exactly which visits were reported stored before the
kill; ``dead PID STATUS`` once the killed process is reaped, after every line it wrote. It
is reaped only after a ``reap`` line comes in, so the kill never reaches a reused pid.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from pathlib import Path


def say(line: str) -> None:
    """One line in ONE write(2) of under PIPE_BUF bytes: atomic, so a kill can never leave
    half a line (print() may hand the text and its newline to the OS separately)."""
    os.write(1, (line + "\n").encode())


def main() -> None:
    data_dir, visit_file, user, password = sys.argv[1:5]
    from mppdesk.desk.auth import login
    from mppdesk.desk.intake import finalize_visit, parse_visit
    from mppdesk.desk.runtime import open_runtime

    document = json.loads(Path(visit_file).read_text())
    runtime = open_runtime(Path(data_dir))
    actor = login(runtime, user, password)
    request = parse_visit(document, Path(visit_file).parent)
    # One visit here first: the region tables and holidays it loads are then inherited by
    # every fork instead of read by each (seconds a process). It is reported like the rest.
    result = finalize_visit(runtime, actor, request)
    say(f"stored {result.visit_id} {len(result.submissions)}")
    runtime.close()  # no connection crosses a fork: each desk process opens its own
    say("ready")
    while sys.stdin.readline().strip() == "fork":
        pid = os.fork()
        if pid == 0:
            status = 0
            try:
                say(f"child {os.getpid()}")
                desk = open_runtime(Path(data_dir))
                while True:
                    result = finalize_visit(desk, actor, request)
                    say(f"stored {result.visit_id} {len(result.submissions)}")
            except BaseException:  # noqa: BLE001 - told to the parent, then this process ends
                traceback.print_exc()
                sys.stderr.flush()
                status = 1
            finally:
                os._exit(status)
        sys.stdin.readline()  # "reap", after the kill: till then the pid cannot be reused
        _, status = os.waitpid(pid, 0)
        say(f"dead {pid} {status}")


if __name__ == "__main__":
    main()
