"""A tiny OpenID Connect provider on 127.0.0.1, for testing the real sign-in flow (no tests here).

Discovery document, an authorize endpoint that redirects straight back with a code (no login form:
whoever the test says signs in), a token endpoint that checks the client secret, the redirect URI
and PKCE (S256) and issues an RS256 ``id_token`` signed with a key made for this run, the JWKS, and
userinfo. The claims of the next sign-in are set by the test (``stub.claims = {...}``);
``stub.wrong_key = True`` signs with a key that is not in the JWKS (a forged token).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from joserfc import jwt
from joserfc.jwk import RSAKey


class OIDCStub:
    def __init__(self, client_id: str = "kpi-dashboard", client_secret: str | None = None):
        self.client_id = client_id
        self.client_secret = client_secret or secrets.token_urlsafe(24)
        self.key = RSAKey.generate_key(2048, parameters={"kid": "stub-1", "use": "sig", "alg": "RS256"})
        self.other_key = RSAKey.generate_key(2048, parameters={"kid": "stub-1"})  # same kid, not published
        self.claims: dict = {}
        self.wrong_key = False
        self.codes: dict[str, dict] = {}
        self.log: list[str] = []  # "GET /authorize", "POST /token", … in order
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def metadata_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    def __enter__(self) -> "OIDCStub":
        self._thread.start()
        return self

    def __exit__(self, *_) -> None:
        self._server.shutdown()
        self._server.server_close()

    # --- the provider ------------------------------------------------------------------------

    def metadata(self) -> dict:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "userinfo_endpoint": f"{self.issuer}/userinfo",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "email", "profile"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "code_challenge_methods_supported": ["S256"],
        }

    def authorize(self, q: dict[str, str]) -> tuple[int, dict, bytes]:
        if q.get("client_id") != self.client_id or q.get("response_type") != "code" or "openid" not in q.get(
                "scope", "").split():
            return 400, {}, b"bad authorization request"
        code = secrets.token_urlsafe(16)
        self.codes[code] = {"nonce": q.get("nonce"), "redirect_uri": q["redirect_uri"],
                            "challenge": q.get("code_challenge"), "claims": dict(self.claims)}
        back = q["redirect_uri"] + "?" + urllib.parse.urlencode({"code": code, "state": q.get("state", "")})
        return 302, {"Location": back}, b""

    def token(self, form: dict[str, str], auth_header: str | None) -> tuple[int, dict, bytes]:
        cid, secret = form.get("client_id"), form.get("client_secret")
        if auth_header and auth_header.startswith("Basic "):
            cid, _, secret = base64.b64decode(auth_header[6:]).decode().partition(":")
            cid, secret = urllib.parse.unquote(cid), urllib.parse.unquote(secret)
        grant = self.codes.pop(form.get("code", ""), None)  # a code works once
        if cid != self.client_id or secret != self.client_secret:
            return 401, {}, json.dumps({"error": "invalid_client"}).encode()
        if grant is None or grant["redirect_uri"] != form.get("redirect_uri"):
            return 400, {}, json.dumps({"error": "invalid_grant"}).encode()
        if grant["challenge"]:
            verifier = form.get("code_verifier", "")
            digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            if digest != grant["challenge"]:
                return 400, {}, json.dumps({"error": "invalid_grant", "error_description": "PKCE"}).encode()
        now = int(time.time())
        claims = {"iss": self.issuer, "aud": self.client_id, "iat": now, "exp": now + 300, "auth_time": now,
                  "sub": "stub-user", **grant["claims"]}
        if grant["nonce"]:
            claims["nonce"] = grant["nonce"]
        key = self.other_key if self.wrong_key else self.key
        id_token = jwt.encode({"alg": "RS256", "kid": "stub-1"}, claims, key)
        access = secrets.token_urlsafe(16)
        self.codes[f"access:{access}"] = claims
        body = {"access_token": access, "token_type": "Bearer", "expires_in": 300, "id_token": id_token,
                "scope": "openid email profile"}
        return 200, {"Cache-Control": "no-store"}, json.dumps(body).encode()

    def _handler(self):
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_):  # quiet
                pass

            def _send(self, status: int, headers: dict, body: bytes, ctype: str = "application/json") -> None:
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):  # noqa: N802
                url = urllib.parse.urlsplit(self.path)
                stub.log.append(f"GET {url.path}")
                q = dict(urllib.parse.parse_qsl(url.query))
                if url.path == "/.well-known/openid-configuration":
                    return self._send(200, {}, json.dumps(stub.metadata()).encode())
                if url.path == "/jwks":
                    return self._send(200, {}, json.dumps({"keys": [stub.key.as_dict(private=False)]}).encode())
                if url.path == "/authorize":
                    return self._send(*stub.authorize(q), ctype="text/plain")
                if url.path == "/userinfo":
                    token = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
                    claims = stub.codes.get(f"access:{token}")
                    return self._send(200 if claims else 401, {}, json.dumps(claims or {}).encode())
                return self._send(404, {}, b"{}")

            def do_POST(self):  # noqa: N802
                url = urllib.parse.urlsplit(self.path)
                stub.log.append(f"POST {url.path}")
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                if url.path == "/token":
                    form = dict(urllib.parse.parse_qsl(body))
                    return self._send(*stub.token(form, self.headers.get("Authorization")))
                return self._send(404, {}, b"{}")

        return Handler
