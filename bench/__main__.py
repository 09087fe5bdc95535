"""Run the benchmarks and write bench/results.json.

Every ``bench/bench_*.py`` module defines ``METRICS``: a dict from metric name to a
function returning ``{"value": number, "unit": str, "better": "lower"|"higher"}``.
``--only NAME`` runs one metric and merges it into the existing results file.
"""

import argparse
import importlib
import json
import pkgutil
import sys
import time
from pathlib import Path

import bench

RESULTS = Path(__file__).resolve().parent / "results.json"


def discover() -> dict:
    metrics = {}
    for info in sorted(pkgutil.iter_modules(bench.__path__), key=lambda m: m.name):
        if info.name.startswith("bench_"):
            module = importlib.import_module(f"bench.{info.name}")
            for name, func in module.METRICS.items():
                if name in metrics:
                    raise SystemExit(f"bench: metric {name} defined twice")
                metrics[name] = func
    return metrics


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="bench")
    parser.add_argument("--only", metavar="METRIC", help="run one metric")
    args = parser.parse_args(argv)
    metrics = discover()
    if args.only:
        if args.only not in metrics:
            print(f"bench: unknown metric {args.only}; known: {', '.join(sorted(metrics))}", file=sys.stderr)
            return 2
        metrics = {args.only: metrics[args.only]}
    results = json.loads(RESULTS.read_text()) if args.only and RESULTS.exists() else {}
    failed = []
    print(f"{'metric':36} {'value':>14}  unit / better")
    for name, func in metrics.items():
        start = time.perf_counter()
        try:
            result = func()
        except Exception as exc:  # a broken benchmark is reported, the others still run
            failed.append(name)
            print(f"{name:36} {'FAILED':>14}  {type(exc).__name__}: {exc}")
            continue
        if set(result) != {"value", "unit", "better"} or result["better"] not in ("lower", "higher"):
            raise SystemExit(f"bench: {name} returned a malformed result {result}")
        results[name] = result
        took = time.perf_counter() - start
        print(f"{name:36} {result['value']:>14.6g}  {result['unit']} ({result['better']} is better; {took:.1f}s)")
        RESULTS.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
