"""Precompile the Lambda package, so that a cold start does not compile Python source.

Lambda's code directory is read-only, so Python cannot cache what it compiles: without bytecode in the
package, every cold start compiles every module it imports (about 0.6 s of a 1.2 s import of `handler`,
measured by `bench/coldstart.py`). `serverless.yml` runs this on the package after the requirements are
in it (local plugin `infra/bytecode_plugin.js`):

    python infra/bytecode.py .serverless/partnerhub.zip --python-version 3.11

- Partnerhub's own modules (handler.py, domain/, infra/, resolvers/, schema/) keep their source and get a
  checked-hash `.pyc` in `__pycache__`: Python uses it only while it matches the source beside it.
- Third-party modules that a cold start imports (found by importing `handler` from the unpacked package
  and answering one request) are replaced by their bytecode (`module.pyc`, no source): keeping both would
  take the package past its 30 MiB budget, and those files are never edited in place. Tracebacks through
  them still name file and line, without the source text. A package that reads source at run time
  (`inspect.getsource`: anyio builds its lazy imports from it) keeps it, with a checked-hash `.pyc` beside.
  Other third-party modules stay as they are.
- The methods `@dataclass` generates for the classes a cold start defines, compiled (infra/dataclass_cache.py):
  `__pycache__/dataclass-methods.cpython-311.bin`, written by the same probe.

The interpreter running this must be the runtime's version (bytecode is version-specific) and have
boto3 (which the Lambda runtime provides) to import the handler.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import py_compile
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

OWN_CODE = ("handler.py", "domain/", "infra/", "resolvers/", "schema/")
DATACLASS_METHODS = f"__pycache__/dataclass-methods.{sys.implementation.cache_tag}.bin"
READS_SOURCE = (b"getsource", b"findsource")  # inspect's functions that need a module's source file

# Runs first in a probe of the unpacked package (its working directory): puts the package on the path, as the Lambda
# runtime does, and records in `compiled` every file of the package that an import compiles from source (no usable
# bytecode), including modules whose import failed on purpose (e.g. dateutil's Windows time zones).
# tests/integration/package_smoke.py runs it too.
RECORD_COMPILES = r"""
import importlib.machinery, os, sys
root = os.getcwd() + os.sep
sys.path.insert(0, root)
compiled = []
to_code = importlib.machinery.SourceFileLoader.source_to_code
def recording_source_to_code(loader, data, path, *args, **kwargs):
    if os.path.abspath(path).startswith(root):
        compiled.append(os.path.relpath(path, root))
    return to_code(loader, data, path, *args, **kwargs)
importlib.machinery.SourceFileLoader.source_to_code = recording_source_to_code
"""

# Imports the handler as the Lambda runtime does, answers a health check and an unauthenticated GraphQL request (no AWS
# call), checks a token as the first signed-in request does (PyJWT and cryptography load then: infra/auth.py), and
# prints every file of the package it compiled from source.
PROBE = RECORD_COMPILES + r"""
import json
import handler
from handler import handler as api
if hasattr(handler, "_services"):  # Partnerhub's handler (tests/unit/test_bytecode.py probes a package of its own)
    from infra.auth import mint_dev_token
    services = handler._services()
    services.verifier.verify(mint_dev_token(services.settings, "usr_bytecode_probe"))
for method, path, body in (("GET", "/health", ""), ("POST", "/graphql", '{"query": "{ __typename }"}')):
    api({"version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": "", "body": body, "isBase64Encoded": False,
         "headers": {"host": "x", "content-type": "application/json"},
         "requestContext": {"http": {"method": method, "path": path, "sourceIp": "192.0.2.1", "protocol": "HTTP/1.1", "userAgent": "p"},
                            "stage": "$default", "requestId": "1", "accountId": "1", "apiId": "x", "domainName": "x",
                            "domainPrefix": "x", "time": "23/Nov/2026:09:00:00 +0000", "timeEpoch": 0}}, None)
methods = sys.modules.get("infra.dataclass_cache")  # the generated dataclass methods this cold start compiled
if methods and methods.installed():
    methods.installed().write()
print(json.dumps(sorted(set(compiled))))
"""

PROBE_ENVIRONMENT = {
    "AWS_REGION": "eu-central-1", "AWS_DEFAULT_REGION": "eu-central-1", "STAGE": "bytecode", "EMAIL_BACKEND": "memory",
    "JWT_DEV_SECRET": "bytecode-probe-secret-of-sufficient-length-0123", "_HANDLER": "handler.handler",
}


def imported_at_cold_start(code_dir: Path) -> set[str]:
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONDONTWRITEBYTECODE": "1", **PROBE_ENVIRONMENT}
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=code_dir, env=env, capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        raise SystemExit(f"Importing the handler from the package failed:\n{result.stderr}")
    return set(json.loads(result.stdout.strip().splitlines()[-1]))


def cache_path(name: str) -> str:
    """`pkg/mod.py` -> `pkg/__pycache__/mod.cpython-311.pyc`, where the interpreter looks for it."""
    return Path(importlib.util.cache_from_source(name)).as_posix()


def precompile(package: Path) -> dict[str, int]:
    with tempfile.TemporaryDirectory() as tmp:
        code_dir = Path(tmp)
        with zipfile.ZipFile(package) as source:
            entries = source.infolist()
            source.extractall(code_dir)
        imported = imported_at_cold_start(code_dir)
        reads_source = packages_reading_source(code_dir, [entry.filename for entry in entries])
        counts = {"own modules": 0, "third-party modules without source": 0, "third-party modules with source": 0, "left as source": 0}
        rewritten = package.with_suffix(".bytecode.zip")
        with zipfile.ZipFile(rewritten, "w", zipfile.ZIP_DEFLATED) as target:
            for entry in entries:
                name = entry.filename
                if not name.endswith(".py"):
                    target.writestr(entry, (code_dir / name).read_bytes())
                elif name.startswith(OWN_CODE) or (name in imported and _top_level(name) in reads_source):
                    target.writestr(entry, (code_dir / name).read_bytes())
                    target.writestr(_like(entry, cache_path(name)), _compiled(code_dir, name, py_compile.PycInvalidationMode.CHECKED_HASH))
                    counts["own modules" if name.startswith(OWN_CODE) else "third-party modules with source"] += 1
                elif name in imported:
                    target.writestr(_like(entry, name + "c"), _compiled(code_dir, name, py_compile.PycInvalidationMode.UNCHECKED_HASH))
                    counts["third-party modules without source"] += 1
                else:
                    target.writestr(entry, (code_dir / name).read_bytes())
                    counts["left as source"] += 1
            methods = code_dir / DATACLASS_METHODS
            if methods.exists():  # written by the probe (infra/dataclass_cache.py)
                target.writestr(_like(entries[0], DATACLASS_METHODS), methods.read_bytes())
        rewritten.replace(package)
    return counts


def packages_reading_source(code_dir: Path, names: list[str]) -> set[str]:
    """Top-level packages with a module that may read source at run time: they keep all of theirs."""
    return {_top_level(name) for name in names
            if name.endswith(".py") and not name.startswith(OWN_CODE) and any(word in (code_dir / name).read_bytes() for word in READS_SOURCE)}


def _top_level(name: str) -> str:
    return name.split("/", 1)[0]


def _compiled(code_dir: Path, name: str, mode: py_compile.PycInvalidationMode) -> bytes:
    output = code_dir / (name + ".compiled")
    # dfile: the path tracebacks show, relative to the code directory as in Lambda's /var/task.
    py_compile.compile(str(code_dir / name), cfile=str(output), dfile=name, doraise=True, invalidation_mode=mode)
    return output.read_bytes()


def _like(entry: zipfile.ZipInfo, name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=entry.date_time)
    info.external_attr, info.compress_type = entry.external_attr, zipfile.ZIP_DEFLATED
    return info


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("package", type=Path)
    parser.add_argument("--python-version", required=True, help="the Lambda runtime's, e.g. 3.11 (python3.11)")
    args = parser.parse_args(argv)
    running = f"{sys.version_info.major}.{sys.version_info.minor}"
    if running != args.python_version:
        raise SystemExit(f"Bytecode for the python{args.python_version} runtime needs a {args.python_version} interpreter, not {running}.")
    counts = precompile(args.package)
    print("Lambda package precompiled: " + ", ".join(f"{n} {what}" for what, n in counts.items()))


if __name__ == "__main__":
    main()
