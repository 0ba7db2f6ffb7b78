"""Cold start: importing `handler` and answering the first request in a fresh process; the Lambda package size.

Each repetition starts a fresh interpreter that times `import handler` and then one GraphQL request
through the Mangum handler (an API Gateway HTTP API v2 event), against moto's ThreadedMotoServer
running in this process with demo data. Sign-in is as deployed: an RS256 token, checked against signing keys
the first request fetches from a JWKS endpoint (a local HTTP server here, JWT_JWKS_URL). The baseline is a fresh interpreter importing the bare
frameworks: strawberry (with its ASGI integration), starlette, mangum and pynamodb. Medians of
--repeat runs; interpreter start-up is outside both timings. Target: ratio <= 1.5.
The handler imports with the garbage collector off (handler.py), so the bare import is also measured that
way: the ratio to it is what our own code adds, like for like.

Measured in two places, handler and baseline alike:
- the Lambda package, unpacked, run with `-B` (Lambda's code directory is read-only, so nothing compiled
  is cached): what a cold start in AWS runs, with the bytecode the package ships (infra/bytecode.py);
- the repository, with bytecode cached in __pycache__ (one untimed warm-up run first).
Also the import of a job function (`_HANDLER=handler.run_billing`), which loads no GraphQL.

The package is `.serverless/partnerhub.zip` from `make deploy-check` (rebuilt when missing or older than its sources);
its unzipped size, with the largest top-level entries. Target: <= 30 MiB.

    python -m bench.coldstart --repeat 9
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import zipfile
from collections import Counter
from datetime import datetime, timedelta, timezone
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
import gc, json, sys, time
if sys.argv[1:] == ["gc-off"]:
    gc.disable()
started = time.perf_counter()
import strawberry, strawberry.asgi, starlette.applications, mangum, pynamodb.models
print(json.dumps({"import": time.perf_counter() - started}))
"""

FIRST_REQUEST = "{ me { user { email } organisation { ... on Partner { name } } } customers(first: 10) { nodes { id name } } }"


JOB_RUN = """
import json, time
started = time.perf_counter()
import handler
handler._services()
print(json.dumps({"import": time.perf_counter() - started}))
"""


def fresh_process(code: str, env: dict, cwd: Path, flags: tuple[str, ...] = (), stdin: str = "", args: tuple[str, ...] = ()) -> dict:
    result = subprocess.run([sys.executable, *flags, "-c", code, *args], input=stdin, env=env, cwd=cwd, capture_output=True, text=True,
                            timeout=120)
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-2000:])
    return json.loads(result.stdout.strip().splitlines()[-1])


def measure_cold_start(repeat: int, places: dict[str, tuple[Path, tuple[str, ...], bool]]) -> dict[str, dict]:
    """places: name -> (code directory, interpreter flags, warm up first). One moto server and data set for all."""
    from tests.e2e.test_lambda_handler import http_api_event
    from tests.jwks import JwksServer, public_jwk, rs256, rsa_key

    key = rsa_key()
    with threaded_moto_server() as endpoint, JwksServer([public_jwk(key)]) as jwks:
        use_local_environment(DYNAMODB_ENDPOINT=endpoint, S3_ENDPOINT=endpoint)
        with api_stack() as stack:
            now = datetime.now(timezone.utc)
            token = rs256({"sub": stack.demo.users["nordit_admin"].id, "iss": os.environ["JWT_ISSUER"],
                           "aud": os.environ["JWT_AUDIENCE"], "iat": now, "exp": now + timedelta(hours=1)}, key)
            event = json.dumps(http_api_event({"query": FIRST_REQUEST}, token=token))
        # As deployed: RS256 tokens checked against the identity provider's keys (fetched by the first request).
        env = {key: value for key, value in os.environ.items() if key not in ("PYTHONDONTWRITEBYTECODE", "JWT_DEV_SECRET")}
        env["JWT_JWKS_URL"] = jwks.url
        api_env, job_env = {**env, "_HANDLER": "handler.handler"}, {**env, "_HANDLER": "handler.run_billing"}
        runs = {name: {"handler": [], "bare": [], "bare_gc_off": [], "job": []} for name in places}
        for name, (code_dir, flags, warm_up) in places.items():
            if warm_up:  # writes the bytecode caches
                fresh_process(HANDLER_RUN, api_env, code_dir, flags, event), fresh_process(BARE_RUN, env, code_dir, flags)
        for _ in range(repeat):  # interleaved, so all see the same machine load
            for name, (code_dir, flags, _) in places.items():
                runs[name]["handler"].append(fresh_process(HANDLER_RUN, api_env, code_dir, flags, event))
                runs[name]["bare"].append(fresh_process(BARE_RUN, env, code_dir, flags))
                runs[name]["bare_gc_off"].append(fresh_process(BARE_RUN, env, code_dir, flags, args=("gc-off",)))
                runs[name]["job"].append(fresh_process(JOB_RUN, job_env, code_dir, flags))
    return {name: {
        "handler_import": statistics.median(r["import"] for r in run["handler"]),
        "first_request": statistics.median(r["first_request"] for r in run["handler"]),
        "bare_import": statistics.median(r["import"] for r in run["bare"]),
        "bare_import_gc_off": statistics.median(r["import"] for r in run["bare_gc_off"]),
        "job_import": statistics.median(r["import"] for r in run["job"]),
    } for name, run in runs.items()}


def built_package() -> Path:
    """The package from `make deploy-check`, rebuilt when missing or older than any file it is built from."""
    sources = [ROOT / name for name in ("handler.py", "serverless.yml", "pyproject.toml", "requirements.txt")]
    sources += [path for folder in ("domain", "infra", "resolvers", "schema") for path in (ROOT / folder).rglob("*.py")]
    if not PACKAGE.exists() or PACKAGE.stat().st_mtime < max(path.stat().st_mtime for path in sources):
        subprocess.run(["make", "deploy-check"], cwd=ROOT, check=True)
    return PACKAGE


def package_size() -> tuple[int, list[tuple[str, int]]]:
    entries = zipfile.ZipFile(built_package()).infolist()
    by_top = Counter()
    for info in entries:
        by_top[info.filename.split("/")[0]] += info.file_size
    return sum(i.file_size for i in entries), by_top.most_common(6)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=9, help="fresh processes per measurement, interleaved; medians")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        zipfile.ZipFile(built_package()).extractall(tmp)
        places = measure_cold_start(args.repeat, {
            "Lambda package (-B, read-only)": (Path(tmp), ("-B",), False),
            "repository (bytecode cached)": (ROOT, (), True),
        })
    print(f"Cold start, median of {args.repeat} fresh processes (ms)")
    rows = []
    for place, times in places.items():
        handler, bare, bare_gc_off = times["handler_import"], times["bare_import"], times["bare_import_gc_off"]
        rows.append([place, f"{handler * 1000:.0f}", f"{times['first_request'] * 1000:.0f}", f"{bare * 1000:.0f}",
                     f"{bare_gc_off * 1000:.0f}", f"{handler / bare:.2f}", f"{(handler + times['first_request']) / bare:.2f}",
                     f"{handler / bare_gc_off:.2f}", f"{times['job_import'] * 1000:.0f}"])
    print_table(["where", "import handler", "first request", "bare import", "bare import, GC off", "ratio import",
                 "ratio import + first request", "ratio to bare, GC off", "import for a job"], rows)
    ratios = [times["handler_import"] / times["bare_import"] for times in places.values()]
    print(f"Target (import ratio <= 1.5): {'met' if max(ratios) <= 1.5 else 'NOT met'}")
    print("(The handler imports with the garbage collector off (handler.py); 'ratio to bare, GC off' compares it with the\n"
          " frameworks imported the same way, to show what our own code adds.)\n")

    total, largest = package_size()
    print(f"Lambda package {PACKAGE.relative_to(ROOT)}: {total / 2**20:.1f} MiB unzipped "
          f"(target <= {PACKAGE_LIMIT_MIB} MiB: {'met' if total <= PACKAGE_LIMIT_MIB * 2**20 else 'NOT met'})")
    print("largest top-level entries: " + ", ".join(f"{name} {size / 2**20:.1f} MiB" for name, size in largest))


if __name__ == "__main__":
    main()
