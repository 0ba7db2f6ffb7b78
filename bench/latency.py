"""Overhead over the database, and throughput of the local server.

1. Ratio: each portal operation of bench/requests.py through the whole stack as Lambda runs it (the
   Mangum handler with an HTTP API event: ASGI app, authentication, GraphQL, resolvers, repositories)
   against moto's ThreadedMotoServer in its own process, divided by the time of the bare boto3 calls that
   fetch the same items (the very requests the stack made, replayed with a plain boto3 client). Both are
   measured interleaved in one run; median and p95 of each. Target: ratio <= 1.5.
   The database runs in another process, as DynamoDB runs on other machines: in this process its threads
   would hold the GIL while the stack's threads wait for it, a delay the single-threaded bare calls
   never see. `--server in-process --via testclient` measures the earlier set-up (moto's server in this
   process, requests through Starlette's TestClient) for comparison.
2. Throughput: `make dev` (uvicorn on 127.0.0.1 over its embedded moto server, demo data) in a
   subprocess, loaded for --duration seconds by a thread pool of httpx clients in this process;
   requests/s and p50/p95/p99. The load generator shares the machine's cores with the server.

    python -m bench.latency                       # ratio with 20 items per list, then 30 s of load
    python -m bench.latency --duration 10 --size 10
    python -m bench.latency --duration 0 --server in-process --via testclient
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from typing import Iterator

from bench.common import api_stack, percentile, print_table, use_local_environment
from infra.devserver import free_port


@contextmanager
def threaded_moto_server() -> Iterator[str]:
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@contextmanager
def moto_server_process() -> Iterator[str]:
    """moto's ThreadedMotoServer on 127.0.0.1 in a process of its own."""
    import socket

    port = free_port()
    code = ("import logging, threading; from moto.server import ThreadedMotoServer; logging.getLogger('werkzeug').setLevel(logging.ERROR); "
            f"ThreadedMotoServer(ip_address='127.0.0.1', port={port}, verbose=False).start(); threading.Event().wait()")
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("moto's server did not come up")
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


# --- 1. the ratio -------------------------------------------------------------------------------------


def lambda_caller(stack):
    """Posts an operation as API Gateway would: an HTTP API (v2) event to the Mangum handler Lambda runs."""
    from mangum import Mangum

    from resolvers.http import create_app
    from tests.e2e.test_lambda_handler import LambdaContext, http_api_event

    handler = Mangum(create_app(stack.services), lifespan="off")

    def post(token: str, query: str, variables: dict) -> None:
        response = handler(http_api_event({"query": query, "variables": variables}, token=token), LambdaContext())
        if response["statusCode"] != 200 or '"errors"' in response["body"]:
            raise RuntimeError(f"{response['statusCode']}: {response['body'][:500]}")

    return post


def measure_ratio(size: int, rounds: int, server: str = "process", via: str = "lambda") -> list[list]:
    import boto3
    from botocore import xform_name

    from bench import requests as portal
    from tests.request_counter import count_requests

    with (moto_server_process() if server == "process" else threaded_moto_server()) as endpoint:
        use_local_environment(DYNAMODB_ENDPOINT=endpoint, S3_ENDPOINT=endpoint)
        with api_stack() as stack:
            fixture: dict = {}
            for step in portal.SEEDING:
                step(stack, fixture, (size,))
            bare = boto3.client("dynamodb", region_name=stack.services.settings.region, endpoint_url=endpoint)
            post = lambda_caller(stack) if via == "lambda" else stack.post
            plans = []
            for operation in portal.OPERATIONS:
                token, variables = stack.token(operation.actor), operation.variables(stack, fixture, size)
                post(token, operation.query, variables)  # warm caches and connections
                with count_requests() as count:
                    post(token, operation.query, variables)
                replay = [(getattr(bare, xform_name(name)), params) for name, params in count.calls]
                for method, params in replay:  # warm the bare client too
                    method(**params)
                plans.append((operation, token, variables, replay, [], []))
            for _ in range(rounds):  # interleaved: the stack and the bare calls see the same server load
                for operation, token, variables, replay, stack_times, bare_times in plans:
                    started = time.perf_counter()
                    post(token, operation.query, variables)
                    stack_times.append(time.perf_counter() - started)
                    started = time.perf_counter()
                    for method, params in replay:
                        method(**params)
                    bare_times.append(time.perf_counter() - started)
    rows = []
    for operation, _token, _variables, replay, stack_times, bare_times in plans:
        stack_p50, stack_p95 = percentile(stack_times, 50), percentile(stack_times, 95)
        bare_p50, bare_p95 = percentile(bare_times, 50), percentile(bare_times, 95)
        rows.append([operation.name, len(replay), f"{stack_p50 * 1000:.1f}", f"{stack_p95 * 1000:.1f}", f"{bare_p50 * 1000:.1f}",
                     f"{bare_p95 * 1000:.1f}", f"{stack_p50 / bare_p50:.2f}", f"{stack_p95 / bare_p95:.2f}"])
    return rows


# --- 2. throughput of the local server ---------------------------------------------------------------

LOAD = [  # (name, query, variables(ids)) as NordIT's admin; ids come from the demo data
    ("customer list", "{ customers(first: 20) { nodes { id name partnerLinks { billingMode partner { id name } } } } }", lambda ids: {}),
    ("subscriptions of a customer", "query($c: ID!) { subscriptions(customerId: $c, first: 20) { nodes { id quantity product { name } customer { name } } } }",
     lambda ids: {"c": ids["customer"]}),
    ("subscription detail", "query($id: ID!) { subscription(id: $id) { id quantity seatLots { id quantity } history { kind at } product { name } } }",
     lambda ids: {"id": ids["subscription"]}),
    ("renewal planner", "{ renewalPlanner(days: 92, first: 20) { nodes { id termEndsAt } } }", lambda ids: {}),
]


@contextmanager
def dev_server() -> Iterator[tuple[str, str]]:
    """`make dev` in a subprocess on a free port: yields its URL and NordIT's admin's Authorization header."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DYNAMODB_ENDPOINT", "S3_ENDPOINT")}
    env.update(PORT=str(port), PYTHONUNBUFFERED="1")
    process = subprocess.Popen([sys.executable, "-m", "infra.devserver"], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        header, previous = None, ""
        for line in process.stdout:
            if previous.startswith("# Nina Nord"):
                header = json.loads(line)["Authorization"]
            if line.startswith("GraphiQL:"):
                break
            previous = line
        if header is None:
            raise RuntimeError("the dev server printed no token for NordIT's admin")
        url = f"http://127.0.0.1:{port}"
        _wait_until_up(url)
        threading.Thread(target=process.stdout.read, daemon=True).start()  # keep draining its output
        yield url, header
    finally:
        process.terminate()
        process.wait(timeout=10)


def _wait_until_up(url: str, timeout: float = 30) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError("the dev server did not come up")


def measure_throughput(duration: float, concurrency: int) -> dict:
    import httpx

    with dev_server() as (url, authorization):
        headers = {"Authorization": authorization}
        with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
            def ask(query: str, variables: dict | None = None) -> dict:
                body = client.post("/graphql", json={"query": query, "variables": variables or {}}).json()
                if body.get("errors"):
                    raise RuntimeError(body["errors"])
                return body["data"]

            customer = next(n for n in ask("{ customers(first: 20) { nodes { id name } } }")["customers"]["nodes"] if n["name"].startswith("Hanse"))
            subscription = ask("query($c: ID!) { subscriptions(customerId: $c, first: 1) { nodes { id } } }", {"c": customer["id"]})
            ids = {"customer": customer["id"], "subscription": subscription["subscriptions"]["nodes"][0]["id"]}

        latencies: list[float] = []
        failures: list[str] = []
        lock = threading.Lock()
        deadline = time.monotonic() + duration

        def worker(offset: int) -> None:
            mine, errors, i = [], [], offset
            with httpx.Client(base_url=url, headers=headers, timeout=30) as own:
                while time.monotonic() < deadline:
                    _name, query, variables = LOAD[i % len(LOAD)]
                    i += 1
                    started = time.perf_counter()
                    response = own.post("/graphql", json={"query": query, "variables": variables(ids)})
                    mine.append(time.perf_counter() - started)
                    if response.status_code != 200 or "errors" in response.json():
                        errors.append(response.text[:200])
            with lock:
                latencies.extend(mine)
                failures.extend(errors)

        started = time.monotonic()
        threads = [threading.Thread(target=worker, args=(n,)) for n in range(concurrency)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
    return {
        "requests": len(latencies), "failed": len(failures), "seconds": elapsed, "per_second": len(latencies) / elapsed,
        "p50": percentile(latencies, 50), "p95": percentile(latencies, 95), "p99": percentile(latencies, 99),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=20, help="list size of the operations in the ratio part")
    parser.add_argument("--rounds", type=int, default=30, help="interleaved rounds per operation in the ratio part")
    parser.add_argument("--duration", type=float, default=30, help="seconds of load on the local server (0: skip)")
    parser.add_argument("--concurrency", type=int, default=8, help="client threads of the load generator")
    parser.add_argument("--server", choices=["process", "in-process"], default="process", help="where moto's server runs (ratio part)")
    parser.add_argument("--via", choices=["lambda", "testclient"], default="lambda",
                        help="the stack's entry: Mangum with an HTTP API event, or Starlette's TestClient (ratio part)")
    args = parser.parse_args()

    rows = measure_ratio(args.size, args.rounds, args.server, args.via)
    print(f"Whole stack ({'Mangum handler, HTTP API events' if args.via == 'lambda' else 'Starlette TestClient'}) vs bare boto3 calls of "
          f"the same items, moto ThreadedMotoServer {'in its own process' if args.server == 'process' else 'in this process'}, "
          f"n={args.size}, {args.rounds} interleaved rounds (ms)")
    print_table(["operation", "calls", "stack p50", "stack p95", "bare p50", "bare p95", "ratio p50", "ratio p95"], rows)
    worst = max(float(row[6]) for row in rows)
    print(f"\nTarget (ratio of medians <= 1.5): {'met' if worst <= 1.5 else 'NOT met'} (worst {worst:.2f})\n")

    if args.duration > 0:
        result = measure_throughput(args.duration, args.concurrency)
        print(f"Local server (uvicorn over moto server, demo data), {args.concurrency} client threads, {result['seconds']:.0f} s: "
              f"{result['requests']} requests, {result['failed']} failed, {result['per_second']:.1f} requests/s, "
              f"p50 {result['p50'] * 1000:.1f} ms, p95 {result['p95'] * 1000:.1f} ms, p99 {result['p99'] * 1000:.1f} ms")


if __name__ == "__main__":
    main()
