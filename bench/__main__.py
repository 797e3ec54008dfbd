"""Run the benchmarks: ``python -m bench [--json] [--quick] [NAME ...]``."""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import sys
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.add_argument("--quick", action="store_true", help="smaller sizes")
    parser.add_argument("names", nargs="*", help="only these modules (bench_<name>.py)")
    args = parser.parse_args()
    here = Path(__file__).parent
    modules = sorted(m.name for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("bench_"))
    if args.names:
        modules = [m for m in modules if m.removeprefix("bench_") in args.names or m in args.names]
    wanted = set(args.names)
    if args.names and not modules:
        # A result name (e.g. receipt_80mm) rather than a module name: run every module and
        # keep the results asked for.
        modules = sorted(m.name for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("bench_"))
    for module_name in modules:
        module = importlib.import_module(f"bench.{module_name}")
        for result in module.run(quick=args.quick):
            if wanted and result.name not in wanted and module_name.removeprefix("bench_") not in wanted:
                continue
            if args.json:
                print(json.dumps(result.as_dict()), flush=True)
            else:
                verdict = "ok" if result.met else "MISSED"
                print(
                    f"{result.name:28s} p50 {result.p50:10.3f} {result.unit:6s} p95 {result.p95:10.3f}"
                    f"  floor p50 {result.floor_p50:10.3f}  ratio {result.ratio:6.2f}"
                    f" (goal {'<=' if result.direction == 'max' else '>='} {result.goal}) {verdict}"
                    + (f"  [{result.size}]" if result.size else ""),
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
