"""Bearer tokens that are malformed in ways the signature check alone does not catch are
refused with 401, never a server error: an alg that does not fit the key (the JWK's own alg,
else its key type), a non-numeric iat or exp, and an aud that is a list rather than exactly
the service URL."""

from __future__ import annotations

import time
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from tests.cds_support import ISSUER, InProcess, Signer, hook_request, stenosis_chart, write_jwks


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    signer = Signer()
    return InProcess(signer, write_jwks(tmp_path_factory.mktemp("keys") / "jwks.json", signer))


def _token(service: InProcess, key, alg: str, **claims) -> str:
    now = int(time.time())
    payload = {"iss": ISSUER, "aud": service.audience, "iat": now, "exp": now + 60, "jti": str(uuid.uuid4())}
    return jwt.encode({**payload, **claims}, key, algorithm=alg, headers={"kid": service.signer.kid, "typ": "JWT"})


def test_a_well_formed_token_is_accepted(service):
    assert service.post(hook_request(stenosis_chart())).status_code == 200


@pytest.mark.parametrize(
    ("alg", "key"),
    [
        ("ES256", ec.generate_private_key(ec.SECP256R1())),
        ("EdDSA", ed25519.Ed25519PrivateKey.generate()),
        ("PS256", None),  # the RSA key itself, but the JWK says RS256
        ("RS384", None),
    ],
)
def test_an_alg_other_than_the_keys_is_refused_with_401(service, alg, key):
    token = _token(service, key or service.signer.private, alg)
    assert service.post(hook_request(stenosis_chart()), token=token).status_code == 401


@pytest.mark.parametrize(
    "claims",
    [
        {"iat": str(int(time.time()))},
        {"exp": str(int(time.time()) + 60)},
        {"iat": True},
        {"aud": None},  # replaced below by a list holding the service URL and another
    ],
)
def test_malformed_claims_are_refused_with_401(service, claims):
    if "aud" in claims:
        claims = {"aud": [service.audience, "https://other.example.org/x"]}
    token = _token(service, service.signer.private, "RS256", **claims)
    assert service.post(hook_request(stenosis_chart()), token=token).status_code == 401
