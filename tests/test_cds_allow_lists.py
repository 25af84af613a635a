"""The fhirServer and JWKS-URL allow-lists compare parsed URLs: the scheme, host and port are
equal, no user part, and the path is the allowed path or below it at a `/`; a URL that only
starts with the same text (`https://fhir.example.org.evil.net`, `https://fhir.example.org@evil.net`)
is refused."""

from __future__ import annotations

import json

import pytest

from decision_aid.records.cds_config import ConfigError, load_config, under
from decision_aid.records.cds_fetch import _access
from decision_aid.records.cds_models import HookRequest
from tests.cds_support import FHIR_TOKEN, ISSUER, SERVICE_URL, hook_request, stenosis_chart

ALLOWED = "https://fhir.example.org/fhir"
AUTH = {
    "access_token": FHIR_TOKEN,
    "token_type": "Bearer",
    "expires_in": 300,
    "scope": "patient/*.read",
    "subject": "s",
}
REFUSED = [
    "https://fhir.example.org.evil.net/fhir",
    "https://fhir.example.org@evil.net/fhir",
    "https://user:pw@fhir.example.org/fhir",
    "https://fhir.example.org/fhirx",
    "https://fhir.example.org/fhir/../admin",
    "https://fhir.example.org:8443/fhir",
    "http://fhir.example.org/fhir",
    "https://evil.net/fhir#https://fhir.example.org/fhir",
    "not a url",
]
ACCEPTED = ["https://fhir.example.org/fhir", "https://fhir.example.org/fhir/", "https://FHIR.example.org:443/fhir/r4"]


@pytest.mark.parametrize("url", REFUSED)
def test_a_url_that_only_starts_like_an_allowed_one_is_not_under_it(url):
    assert not under(url, ALLOWED)


@pytest.mark.parametrize("url", ACCEPTED)
def test_the_allowed_url_and_paths_below_it_are_under_it(url):
    assert under(url, ALLOWED) and under(url, ALLOWED + "/")


def _config(**env: str):
    settings = {"DECISION_AID_CDS_SERVICE_URL": SERVICE_URL, "DECISION_AID_CDS_ISSUERS": json.dumps({ISSUER: ""})}
    return load_config(None, env={**settings, **env})


@pytest.mark.parametrize("server", REFUSED[:4])
def test_a_fhir_server_off_the_allow_list_is_never_queried(server, tmp_path):
    from tests.cds_support import Signer, write_jwks

    jwks = write_jwks(tmp_path / "jwks.json", Signer())
    config = _config(
        DECISION_AID_CDS_ISSUERS=json.dumps({ISSUER: str(jwks)}), DECISION_AID_CDS_FHIR_SERVER_ALLOW=ALLOWED
    )
    request = hook_request(stenosis_chart(), fhirServer=server, fhirAuthorization=AUTH)
    assert _access(HookRequest.model_validate(request), config) is None
    request["fhirServer"] = ALLOWED
    assert _access(HookRequest.model_validate(request), config) is not None


@pytest.mark.parametrize("url", ["https://ehr.example.org.evil.net/jwks", "https://ehr.example.org@evil.net/jwks"])
def test_a_jwks_url_off_the_allow_list_is_a_config_error(url):
    with pytest.raises(ConfigError, match="not under any prefix of jwks_url_allow"):
        _config(
            DECISION_AID_CDS_JWKS_URL_ALLOW="https://ehr.example.org",
            DECISION_AID_CDS_ISSUERS=json.dumps({ISSUER: url}),
        )
