"""Bearer-token checks of the CDS Hooks service (specification: "Trusting CDS Clients").

A request is trusted only if its `Authorization: Bearer <JWT>` passes every check:
an asymmetric `alg` (never `none` or HMAC), `typ` JWT and a `kid`; an `iss` on the
allow-list; a signature by the key of that `kid` in that issuer's configured JWK Set
(a `jku` header is never followed) with an `alg` that fits the key (the JWK's own `alg`
when it names one, else its key type and curve); `aud` a string equal to the endpoint
called; `exp` and `iat` numbers and `jti` a string, all present, `iat` not in the
future, not expired, and `exp - iat` within the configured lifetime; and a `jti` not
seen before from that issuer while it is valid.

Invariants: the replay cache is checked only after the signature (a forged token can
neither be used nor poison it), remembers each (iss, jti) until its `exp` plus the
clock skew, and lives in this process: one worker per service keeps the protection,
replicas need a shared store. A refusal says nothing about why (the caller gets 401).
"""

from __future__ import annotations

import heapq
import threading
import time
from collections.abc import Callable
from typing import Any

import jwt
from jwt import PyJWK, PyJWKClient, PyJWKSet

from decision_aid.records.cds_config import CdsConfig, Issuer

# Signature algorithms a record system may use: public-key only (the specification forbids
# `none` and every symmetric algorithm such as HS256).
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")


class Unauthorized(Exception):
    """The token is missing or fails a check. `reason` is for tests and debugging only: never sent."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


class ReplayCache:
    """(iss, jti) pairs seen, each kept until it expires; thread-safe."""

    def __init__(self, clock: Callable[[], float] = time.time):
        self._seen: dict[tuple[str, str], float] = {}
        self._expiry: list[tuple[float, tuple[str, str]]] = []
        self._lock = threading.Lock()
        self._clock = clock

    def first_use(self, key: tuple[str, str], until: float) -> bool:
        """True, and remembered until `until`, if `key` is not already remembered."""
        now = self._clock()
        with self._lock:
            while self._expiry and self._expiry[0][0] < now:
                _, old = heapq.heappop(self._expiry)
                if self._seen.get(old, now) < now:
                    del self._seen[old]
            if key in self._seen:
                return False
            self._seen[key] = until
            heapq.heappush(self._expiry, (until, key))
            return True

    def __len__(self) -> int:
        return len(self._seen)


class TokenVerifier:
    """Checks bearer tokens against the configured issuers."""

    def __init__(self, config: CdsConfig, clock: Callable[[], float] = time.time):
        self.config = config
        self.replays = ReplayCache(clock)
        self._clock = clock
        self._key_sets: dict[str, PyJWKSet] = {
            iss: PyJWKSet.from_dict(issuer.jwks) for iss, issuer in config.issuers.items() if issuer.jwks is not None
        }
        self._clients: dict[str, PyJWKClient] = {
            iss: PyJWKClient(issuer.jwks_url, cache_keys=True, lifespan=300, timeout=5)
            for iss, issuer in config.issuers.items()
            if issuer.jwks_url is not None
        }

    def verify(self, authorization: str | None, audience: str) -> dict[str, Any]:
        """The token's claims if every check passes; Unauthorized otherwise."""
        token = _bearer(authorization)
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise Unauthorized("not a JWT") from None
        alg, kid = header.get("alg"), header.get("kid")
        if alg not in ALGORITHMS:
            raise Unauthorized("algorithm not allowed")
        if str(header.get("typ", "")).upper() != "JWT" or not isinstance(kid, str) or not kid:
            raise Unauthorized("header needs typ JWT and a kid")
        issuer = self.config.issuers.get(unverified.get("iss")) if isinstance(unverified.get("iss"), str) else None
        if issuer is None:
            raise Unauthorized("issuer not trusted")
        key = self._key(issuer, kid)
        if not _fits(alg, key):
            raise Unauthorized("algorithm does not fit the key")
        skew = self.config.clock_skew_seconds
        try:
            claims = jwt.decode(
                token,
                key.key,
                algorithms=[alg],
                audience=audience,
                issuer=issuer.iss,
                leeway=skew,
                options={"require": ["iss", "aud", "exp", "iat", "jti"], "strict_aud": True},
            )
        except (jwt.PyJWTError, TypeError, ValueError) as error:
            raise Unauthorized(type(error).__name__) from None
        now = self._clock()
        exp, iat, jti = claims["exp"], claims["iat"], claims["jti"]
        if not isinstance(jti, str) or not jti:
            raise Unauthorized("jti must be a non-empty string")
        if not all(isinstance(t, (int, float)) and not isinstance(t, bool) for t in (exp, iat)):
            raise Unauthorized("exp and iat must be numbers")
        if iat > now + skew or exp <= now - skew:
            raise Unauthorized("token not valid now")
        if exp - iat > self.config.max_token_lifetime_seconds:
            raise Unauthorized("token lifetime too long")
        if not self.replays.first_use((issuer.iss, jti), exp + skew):
            raise Unauthorized("replayed jti")
        return claims

    def _key(self, issuer: Issuer, kid: str) -> PyJWK:
        if issuer.iss in self._key_sets:
            for key in self._key_sets[issuer.iss].keys:
                if key.key_id == kid:
                    return key
            raise Unauthorized("unknown kid")
        try:
            return self._clients[issuer.iss].get_signing_key(kid)
        except jwt.PyJWTError:
            raise Unauthorized("unknown kid or JWKS unavailable") from None


_RSA = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512")


def _fits(alg: str, key: PyJWK) -> bool:
    """The token's alg is the JWK's own `alg` when it names one, else one of its key type's
    (RSA: RS*/PS*; EC: the ES alg of its curve; OKP: EdDSA)."""
    data = getattr(key, "_jwk_data", None)
    data = data if isinstance(data, dict) else {}
    if data.get("alg"):
        return alg == data["alg"]
    kty = data.get("kty")
    if kty == "RSA":
        return alg in _RSA
    return kty in ("EC", "OKP") and alg == key.algorithm_name


def _bearer(authorization: str | None) -> str:
    if not authorization:
        raise Unauthorized("no Authorization header")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("not a Bearer token")
    return token.strip()
