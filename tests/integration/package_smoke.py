"""Smoke test of the built Lambda package: `make deploy-check` runs it after `serverless package`.

Unzips the package into a fresh virtualenv that has only what the Lambda runtime provides (boto3), imports
`handler` from it and answers an API Gateway v2 event for /health, so a dependency missing from the package,
or a file stripped by `slim`, fails CI instead of the first cold start in AWS. It also fails if that cold start, or
checking the first token (which loads PyJWT), compiled any module of the package from source, or any method `@dataclass` generates: the package ships their
bytecode (infra/bytecode.py, infra/dataclass_cache.py).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import venv
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from infra.bytecode import RECORD_COMPILES  # noqa: E402  (records the modules a cold start compiles from source)

PROBE = RECORD_COMPILES + r"""
import json
from handler import handler
event = {"version": "2.0", "routeKey": "GET /health", "rawPath": "/health", "rawQueryString": "", "headers": {"host": "x"},
         "requestContext": {"http": {"method": "GET", "path": "/health", "sourceIp": "192.0.2.1", "protocol": "HTTP/1.1",
         "userAgent": "smoke"}, "stage": "$default", "requestId": "1", "accountId": "1", "apiId": "x", "domainName": "x",
         "domainPrefix": "x", "time": "23/Nov/2026:09:00:00 +0000", "timeEpoch": 0}, "isBase64Encoded": False}
response = handler(event, None)
import handler as entry_points  # the first signed-in request checks its token: PyJWT and cryptography load then
from infra.auth import mint_dev_token
services = entry_points._services()
services.verifier.verify(mint_dev_token(services.settings, "usr_smoke"))
cold_start_compiled = list(compiled)
from infra import dataclass_cache
methods_compiled = len(dataclass_cache.installed().compiled)  # generated dataclass methods the package lacked
import domain, infra, resolvers, schema, jwt, pydyf, sepaxml, stdnum.iban  # every runtime dependency imports
from domain.partner_programme import BankDetails  # stdnum's data for IBAN and BIC is in the package:
BankDetails.create(iban="DE89 3704 0044 0532 0130 00", account_holder="Nord IT GmbH", bic="COBADEFFXXX")
for iban in ("BE71 0961 2345 6769", "ES91 2100 0418 4502 0005 1332", "NO93 8601 1117 947", "AT61 1904 3002 3457 3201",
             "NL91 ABNA 0417 1643 00", "FR14 2004 1010 0505 0001 3M02 606"):  # with a national check of their own or not
    BankDetails.create(iban=iban, account_holder="Smoke", bic="COBADEFFXXX")
print(json.dumps({"status": response["statusCode"], "compiled": cold_start_compiled, "methods compiled": methods_compiled}))
"""


def boto3_pin() -> str:
    text = (ROOT / "requirements.txt").read_text()
    match = re.search(r"^boto3==\S+", text, re.MULTILINE)
    assert match, "requirements.txt pins boto3"
    return match.group(0)


def main(package: str) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        code, env_dir = Path(tmp, "code"), Path(tmp, "venv")
        zipfile.ZipFile(package).extractall(code)
        venv.create(env_dir, with_pip=True)
        python = env_dir / "bin" / "python"
        subprocess.run([python, "-m", "pip", "install", "--quiet", boto3_pin()], check=True)
        env = {"PATH": os.environ.get("PATH", ""), "AWS_REGION": "eu-central-1", "STAGE": "smoke", "EMAIL_BACKEND": "memory",
               "JWT_DEV_SECRET": "smoke-test-secret-of-sufficient-length-0123"}
        result = subprocess.run([python, "-I", "-c", PROBE], cwd=code, env=env, capture_output=True, text=True)
        if result.returncode != 0:
            print(result.stdout, result.stderr, sep="\n", file=sys.stderr)
            return 1
        outcome = json.loads(result.stdout.strip().splitlines()[-1])
        if outcome["compiled"]:
            print(f"The cold start compiled {len(outcome['compiled'])} modules from source: {outcome['compiled'][:10]}", file=sys.stderr)
            return 1
        if outcome["methods compiled"]:
            print(f"The cold start compiled {outcome['methods compiled']} dataclass methods the package lacked "
                  "(infra/dataclass_cache.py)", file=sys.stderr)
            return 1
        print(f"Lambda package smoke test: handler imports from the package alone, /health answered {outcome['status']}, "
              "no module and no dataclass method compiled from source")
        return 0 if outcome["status"] == 200 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else str(ROOT / ".serverless" / "partnerhub.zip")))
