"""A desk process that finalizes visits in a loop until it is killed.

After each commit it prints ``stored VISIT_ID N`` (N submissions) and flushes, so the parent
knows exactly which visits the process reported as stored before it died.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main() -> None:
    data_dir, visit_file, user, password = sys.argv[1:5]
    from mppdesk.desk.auth import login
    from mppdesk.desk.intake import finalize_visit, parse_visit
    from mppdesk.desk.runtime import open_runtime

    document = json.loads(Path(visit_file).read_text())
    runtime = open_runtime(Path(data_dir))
    actor = login(runtime, user, password)
    request = parse_visit(document, Path(visit_file).parent)
    print("ready", flush=True)
    while True:
        result = finalize_visit(runtime, actor, request)
        print(f"stored {result.visit_id} {len(result.submissions)}", flush=True)


if __name__ == "__main__":
    main()
