"""An identity provider's signing keys for tests and benchmarks: RSA keys, and a local HTTP server publishing them as
a JWKS (what JWT_JWKS_URL points to in production)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

KID = "partnerhub-2026"


def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_jwk(private_key, kid: str = KID) -> dict:
    return {**json.loads(RSAAlgorithm.to_jwk(private_key.public_key())), "kid": kid, "use": "sig", "alg": "RS256"}


def rs256(claims: dict, key, kid: str | None = KID) -> str:
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid} if kid else None)


class JwksServer:
    """Serves {"keys": [...]} at /jwks.json on 127.0.0.1 and counts the fetches; `failing` answers 500 instead."""

    def __init__(self, keys: list[dict]) -> None:
        self.keys, self.fetches, self.failing = keys, 0, False
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                outer.fetches += 1
                body = json.dumps({"keys": outer.keys}).encode()
                self.send_response(500 if outer.failing else 200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/jwks.json"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> "JwksServer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
