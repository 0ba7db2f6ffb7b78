"""Cold start: importing `handler` and answering the first request in a fresh process; the Lambda package size.

Each repetition starts a fresh interpreter that times `import handler` and then one GraphQL request
through the Mangum handler (an API Gateway HTTP API v2 event), against moto's ThreadedMotoServer
running in this process with demo data. The baseline is a fresh interpreter importing the bare
frameworks: strawberry (with its ASGI integration), starlette, mangum and pynamodb. Medians of
--repeat runs; interpreter start-up is outside both timings. Target: ratio <= 1.5.

The package is `.serverless/partnerhub.zip` from `make deploy-check` (built when missing);
its unzipped size, with the largest top-level entries. Target: <= 30 MiB.

    python -m bench.coldstart --repeat 5
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import zipfile
from collections import Counter
from pathlib import Path

from bench.common import api_stack, print_table, use_local_environment
from bench.latency import threaded_moto_server

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / ".serverless" / "partnerhub.zip"
PACKAGE_LIMIT_MIB = 30

HANDLER_RUN = """
import json, sys, time
event = json.loads(sys.stdin.read())
class Context:
    function_name, memory_limit_in_mb, aws_request_id = "partnerhub-api", 1024, "cold-1"
    def get_remaining_time_in_millis(self):
        return 30_000
started = time.perf_counter()
import handler
imported = time.perf_counter()
response = handler.handler(event, Context())
answered = time.perf_counter()
assert response["statusCode"] == 200 and '"errors"' not in response["body"], response
print(json.dumps({"import": imported - started, "first_request": answered - imported}))
"""

BARE_RUN = """
import json, time
started = time.perf_counter()
import strawberry, strawberry.asgi, starlette.applications, mangum, pynamodb.models
print(json.dumps({"import": time.perf_counter() - started}))
"""

FIRST_REQUEST = "{ me { user { email } organisation { ... on Partner { name } } } customers(first: 10) { nodes { id name } } }"


def fresh_process(code: str, env: dict, stdin: str = "") -> dict:
    result = subprocess.run([sys.executable, "-c", code], input=stdin, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-2000:])
    return json.loads(result.stdout.strip().splitlines()[-1])


def measure_cold_start(repeat: int) -> dict:
    from tests.e2e.test_lambda_handler import http_api_event

    with threaded_moto_server() as endpoint:
        use_local_environment(DYNAMODB_ENDPOINT=endpoint, S3_ENDPOINT=endpoint)
        with api_stack() as stack:
            event = json.dumps(http_api_event({"query": FIRST_REQUEST}, token=stack.token("nordit_admin")))
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
        handler_runs, bare_runs = [], []
        for _ in range(repeat):  # interleaved, so both see the same machine load
            handler_runs.append(fresh_process(HANDLER_RUN, env, event))
            bare_runs.append(fresh_process(BARE_RUN, env))
    return {
        "handler_import": statistics.median(r["import"] for r in handler_runs),
        "first_request": statistics.median(r["first_request"] for r in handler_runs),
        "bare_import": statistics.median(r["import"] for r in bare_runs),
    }


def package_size() -> tuple[int, list[tuple[str, int]]]:
    if not PACKAGE.exists():
        subprocess.run(["make", "deploy-check"], cwd=ROOT, check=True)
    entries = zipfile.ZipFile(PACKAGE).infolist()
    by_top = Counter()
    for info in entries:
        by_top[info.filename.split("/")[0]] += info.file_size
    return sum(i.file_size for i in entries), by_top.most_common(6)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    times = measure_cold_start(args.repeat)
    import_ratio = times["handler_import"] / times["bare_import"]
    total_ratio = (times["handler_import"] + times["first_request"]) / times["bare_import"]
    print(f"Cold start, median of {args.repeat} fresh processes (ms)")
    print_table(
        ["import handler", "first request", "bare frameworks import", "ratio import", "ratio import + first request"],
        [[f"{times['handler_import'] * 1000:.0f}", f"{times['first_request'] * 1000:.0f}", f"{times['bare_import'] * 1000:.0f}",
          f"{import_ratio:.2f}", f"{total_ratio:.2f}"]],
    )
    print(f"Target (import ratio <= 1.5): {'met' if import_ratio <= 1.5 else 'NOT met'}\n")

    total, largest = package_size()
    print(f"Lambda package {PACKAGE.relative_to(ROOT)}: {total / 2**20:.1f} MiB unzipped "
          f"(target <= {PACKAGE_LIMIT_MIB} MiB: {'met' if total <= PACKAGE_LIMIT_MIB * 2**20 else 'NOT met'})")
    print("largest top-level entries: " + ", ".join(f"{name} {size / 2**20:.1f} MiB" for name, size in largest))


if __name__ == "__main__":
    main()
