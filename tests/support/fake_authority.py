"""Local stand-ins for Microsoft's identity services, for the Teams auth tests.

- `FakeAuthority`: the Entra ID authority MSAL gets the bot's outbound tokens from
  (client credentials): OpenID metadata and a token endpoint. MSAL accepts `https`
  authorities only, so it serves TLS with a throwaway certificate (`ca_file`, trusted
  by `requests` through REQUESTS_CA_BUNDLE). Its path is `/adfs`: for an unknown host
  MSAL first asks login.microsoftonline.com whether the authority is real (instance
  discovery) unless the authority is ADFS- or B2C-shaped, and the Agents SDK gives no
  way to pass `validate_authority=False`/`instance_discovery=False` to MSAL.
- `FakeKeys`: the JWKS endpoints that sign the tokens Teams sends to /api/messages,
  served as `http://127.0.0.1:PORT/<host>/<path>` for `https://<host>/<path>`.
- `SigningKey`: an RSA key that signs such tokens and publishes itself as a JWK.
"""

from __future__ import annotations

import datetime
import ipaddress
import itertools
import json
import shutil
import ssl
import tempfile
import threading
from dataclasses import dataclass, field
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID


@dataclass
class Hit:
    method: str
    path: str
    form: dict[str, str]


class _Server:
    """A recording HTTP(S) server on a free loopback port; `answer` makes each response."""

    scheme = "http"

    def __init__(self) -> None:
        self.hits: list[Hit] = []
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode() if length else ""
                form = {k: v[0] for k, v in parse_qs(raw).items()}
                hit = Hit(self.command, urlsplit(self.path).path, form)
                with fake.lock:
                    fake.hits.append(hit)
                status, body = fake.answer(hit)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _serve

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"{self.scheme}://127.0.0.1:{self.server.server_address[1]}"

    def answer(self, hit: Hit) -> tuple[int, Any]:
        raise NotImplementedError

    def reset(self) -> None:
        with self.lock:
            self.hits.clear()

    def __enter__(self) -> Any:
        serve = self.server.serve_forever
        threading.Thread(target=serve, kwargs={"poll_interval": 0.02}, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


# -- inbound: the keys that sign Teams' tokens -------------------------------------------


@dataclass
class SigningKey:
    kid: str
    key: rsa.RSAPrivateKey = field(repr=False)

    @classmethod
    def generate(cls, kid: str) -> SigningKey:
        return cls(kid, rsa.generate_private_key(public_exponent=65537, key_size=2048))

    def jwk(self) -> dict[str, Any]:
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        return {**jwk, "kid": self.kid, "use": "sig", "endorsements": ["msteams"]}

    def sign(self, claims: dict[str, Any], kid: str | None = None) -> str:
        """A token signed with this key; `kid` names another key in its header (forgery)."""
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": kid or self.kid})


class FakeKeys(_Server):
    """JWKS documents by URL: `publish("https://login.botframework.com/…/keys", key)`."""

    def __init__(self) -> None:
        super().__init__()
        self.sets: dict[str, list[dict[str, Any]]] = {}

    def local(self, url: str) -> str:
        """Where this server answers for an https URL."""
        parts = urlsplit(url)
        return f"{self.url}/{parts.netloc}{parts.path}"

    def publish(self, url: str, *keys: SigningKey) -> None:
        self.sets[urlsplit(self.local(url)).path] = [k.jwk() for k in keys]

    def answer(self, hit: Hit) -> tuple[int, Any]:
        if hit.method == "GET" and hit.path in self.sets:
            return 200, {"keys": self.sets[hit.path]}
        return 404, {"error": "not found"}


# -- outbound: the authority MSAL gets the bot's tokens from ------------------------------


@cache
def _certificate() -> tuple[bytes, bytes]:
    """A self-signed certificate for 127.0.0.1 (PEM certificate, PEM key)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fake authority")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return (
        certificate.public_bytes(serialization.Encoding.PEM),
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )


class FakeAuthority(_Server):
    """Entra ID for one app registration: client credentials in, a bearer token out.
    `authority` is the value for TEAMS_AUTHORITY; `tokens` are the ones it handed out."""

    scheme = "https"

    def __init__(self, client_id: str, client_secret: str) -> None:
        super().__init__()
        self.client_id, self.client_secret = client_id, client_secret
        self.authority = f"{self.url}/adfs"
        self.tokens: list[str] = []
        self.serial = itertools.count(1)
        self.folder = Path(tempfile.mkdtemp(prefix="fake-authority-"))
        certificate, key = _certificate()
        self.ca_file = str(self.folder / "ca.pem")
        Path(self.ca_file).write_bytes(certificate)
        (self.folder / "key.pem").write_bytes(key)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.ca_file, self.folder / "key.pem")
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)

    def __exit__(self, *exc: object) -> None:
        super().__exit__(*exc)
        shutil.rmtree(self.folder, ignore_errors=True)

    def reset(self) -> None:
        super().reset()
        with self.lock:
            self.tokens.clear()

    @property
    def token_requests(self) -> list[Hit]:
        return [h for h in self.hits if h.path == "/adfs/oauth2/token"]

    def answer(self, hit: Hit) -> tuple[int, Any]:
        if hit.method == "GET" and hit.path == "/adfs/.well-known/openid-configuration":
            return 200, {
                "issuer": self.authority,
                "authorization_endpoint": f"{self.authority}/oauth2/authorize",
                "token_endpoint": f"{self.authority}/oauth2/token",
            }
        if hit.method == "POST" and hit.path == "/adfs/oauth2/token":
            form = hit.form
            if form.get("grant_type") != "client_credentials":
                return 400, {"error": "unsupported_grant_type"}
            if (form.get("client_id"), form.get("client_secret")) != (
                self.client_id,
                self.client_secret,
            ):
                return 401, {"error": "invalid_client", "error_description": "bad secret"}
            with self.lock:
                token = f"outbound-token-{next(self.serial)}"
                self.tokens.append(token)
            return 200, {"token_type": "Bearer", "expires_in": 3599, "access_token": token}
        return 404, {"error": "not found"}
