"""Test support for the CDS Hooks service: a record system's signing keys and tokens, FHIR R4
resources in the shapes of the specification's examples (validated with fhir.resources R4B),
hook requests, a small FHIR server, and uvicorn servers on free ports of 127.0.0.1."""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import jwt
import uvicorn
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.patient import Patient

ISSUER = "https://ehr.example.org"
OTHER_ISSUER = "https://intruder.example.org"
SERVICE_ID = "decision-aid-lumbar"
FHIR_TOKEN = "opaque-fhir-access-token-7f3a"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
LOINC = "http://loinc.org"


@dataclass
class Signer:
    """A record system's key pair: it signs tokens; its JWK Set holds the public key."""

    kid: str = "ehr-key-1"
    alg: str = "RS256"
    private: Any = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.private is None:
            self.private = (
                ec.generate_private_key(ec.SECP384R1())
                if self.alg.startswith("ES")
                else rsa.generate_private_key(public_exponent=65537, key_size=2048)
            )

    def jwk(self) -> dict[str, Any]:
        algorithm = jwt.get_algorithm_by_name(self.alg)
        key = json.loads(algorithm.to_jwk(self.private.public_key()))
        return {**key, "kid": self.kid, "use": "sig", "alg": self.alg}

    def token(self, aud: str, **claims: Any) -> str:
        now = int(time.time())
        payload = {"iss": ISSUER, "aud": aud, "iat": now, "exp": now + 60, "jti": str(uuid.uuid4()), **claims}
        payload = {k: v for k, v in payload.items() if v is not None}
        headers = {"kid": self.kid, "typ": "JWT"}
        return jwt.encode(payload, self.private, algorithm=self.alg, headers=headers)


def write_jwks(path: Path, *signers: Signer) -> Path:
    path.write_text(json.dumps({"keys": [s.jwk() for s in signers]}), encoding="utf-8")
    return path


# ---- FHIR R4 resources, as in the specification's examples --------------------------------------


def patient(pid: str = "1288992", birth: str = "1961-04-12", name: str = "Rosalind Quennell") -> dict[str, Any]:
    family, given = name.split()[-1], name.split()[:-1]
    resource = {
        "resourceType": "Patient",
        "id": pid,
        "active": True,
        "name": [{"use": "official", "family": family, "given": given}],
        "gender": "female",
        "birthDate": birth,
    }
    Patient.model_validate(resource)
    return resource


def condition(rid: str, pid: str, code: str, display: str, system: str = ICD10CM) -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "id": rid,
        "clinicalStatus": {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]
        },
        "verificationStatus": {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": "confirmed"}]
        },
        "code": {"coding": [{"system": system, "code": code, "display": display}], "text": display},
        "subject": {"reference": f"Patient/{pid}"},
        "recordedDate": "2026-10-01",
    }


def observation(rid: str, pid: str, code: str, display: str, value: float, unit: str, when: str) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": rid,
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": code, "display": display}]},
        "subject": {"reference": f"Patient/{pid}"},
        "effectiveDateTime": when,
        "valueQuantity": {"value": value, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit},
    }


def searchset(*resources: dict[str, Any]) -> dict[str, Any]:
    bundle = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(resources),
        "entry": [
            {"fullUrl": f"urn:uuid:{uuid.uuid4()}", "resource": r, "search": {"mode": "match"}} for r in resources
        ],
    }
    Bundle.model_validate(bundle)
    return bundle


@dataclass(frozen=True)
class Chart:
    """One patient's record: the prefetch a record system sends for the service's templates."""

    patient: dict[str, Any]
    conditions: tuple[dict[str, Any], ...] = ()
    observations: tuple[dict[str, Any], ...] = ()
    procedures: tuple[dict[str, Any], ...] = ()

    @property
    def pid(self) -> str:
        return self.patient["id"]

    def prefetch(self) -> dict[str, Any]:
        return {
            "patient": self.patient,
            "conditions": searchset(*self.conditions) if self.conditions else None,
            "observations": searchset(*self.observations) if self.observations else None,
            "procedures": searchset(*self.procedures) if self.procedures else None,
        }


def red_flag_chart(pid: str = "rf-1") -> Chart:
    return Chart(
        patient(pid),
        conditions=(
            condition("c1", pid, "M48.062", "Spinal stenosis, lumbar region with neurogenic claudication"),
            condition("c2", pid, "G83.4", "Cauda equina syndrome"),
        ),
    )


def stenosis_chart(pid: str = "st-1") -> Chart:
    return Chart(
        patient(pid),
        conditions=(condition("c1", pid, "M48.062", "Spinal stenosis, lumbar region with neurogenic claudication"),),
        observations=(observation("o1", pid, "39156-5", "Body mass index (BMI) [Ratio]", 27.4, "kg/m2", "2026-11-02"),),
    )


def no_spine_chart(pid: str = "ns-1") -> Chart:
    return Chart(patient(pid), conditions=(condition("c1", pid, "I10", "Essential (primary) hypertension"),))


def hook_request(chart: Chart | None, pid: str | None = None, **members: Any) -> dict[str, Any]:
    body = {
        "hook": "patient-view",
        "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/example", "patientId": pid or chart.pid},
    }
    if chart is not None:
        body["prefetch"] = chart.prefetch()
    body.update(members)
    return {k: v for k, v in body.items() if v is not None}


# ---- a small FHIR server, as a record system's -------------------------------------------------


def fhir_app(charts: dict[str, Chart], token: str = FHIR_TOKEN) -> FastAPI:
    """Answers the service's prefetch queries for `charts` (by patient id), with the bearer `token` only."""
    app = FastAPI()
    seen: list[str] = []
    app.state.seen = seen

    def allowed(request: Request) -> bool:
        seen.append(f"{request.method} {request.url.path}?{unquote(request.url.query)}")
        return request.headers.get("authorization") == f"Bearer {token}"

    @app.get("/fhir/Patient/{pid}")
    def read_patient(pid: str, request: Request) -> JSONResponse:
        if not allowed(request):
            return JSONResponse({"resourceType": "OperationOutcome"}, status_code=401)
        if pid not in charts:
            return JSONResponse({"resourceType": "OperationOutcome"}, status_code=404)
        return JSONResponse(charts[pid].patient, media_type="application/fhir+json")

    for kind, attribute in (("Condition", "conditions"), ("Observation", "observations"), ("Procedure", "procedures")):

        def search(request: Request, patient: str = "", code: str = "", attribute: str = attribute) -> JSONResponse:
            if not allowed(request):
                return JSONResponse({"resourceType": "OperationOutcome"}, status_code=401)
            found = getattr(charts[patient], attribute) if patient in charts else ()
            if code:  # a token search: system|code, any of several separated by commas
                tokens = set(code.split(","))
                found = [r for r in found if {f"{c['system']}|{c['code']}" for c in r["code"]["coding"]} & tokens]
            return JSONResponse(searchset(*found), media_type="application/fhir+json")

        app.add_api_route(f"/fhir/{kind}", search, methods=["GET"])
    return app


# ---- uvicorn on a free port of this machine ---------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerThread:
    """An ASGI app under uvicorn on 127.0.0.1 in a background thread."""

    def __init__(self, app: Any, port: int | None = None):
        self.port = port or free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def wait_for_port(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port}")


# ---- the service in process ---------------------------------------------------------------------

SERVICE_URL = "https://cds.example.org"


class InProcess:
    """The real service app (create_app with the bundled knowledge) called in process with
    tokens signed by a record system whose keys are in `jwks` (a file written by write_jwks)."""

    def __init__(self, signer: Signer, jwks: Path, **env: str):
        from fastapi.testclient import TestClient

        from decision_aid.engine.assessment import default_aid
        from decision_aid.records.cds_config import load_config
        from decision_aid.records.cds_service import create_app

        settings = {
            "DECISION_AID_CDS_SERVICE_URL": SERVICE_URL,
            "DECISION_AID_CDS_APP_URL": "https://decision-aid.example.org",
            "DECISION_AID_CDS_ISSUERS": json.dumps({ISSUER: str(jwks)}),
            **env,
        }
        self.signer = signer
        self.audience = f"{SERVICE_URL}/cds-services/{SERVICE_ID}"
        self.client = TestClient(create_app(load_config(None, env=settings), default_aid()), base_url=SERVICE_URL)

    def post(self, body: Any, token: str | None = "sign") -> Any:
        headers = {"Authorization": f"Bearer {self.signer.token(self.audience) if token == 'sign' else token}"}
        content = body if isinstance(body, (bytes, str)) else json.dumps(body)
        return self.client.post(f"/cds-services/{SERVICE_ID}", content=content, headers=headers)
