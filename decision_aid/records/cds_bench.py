"""Benchmark of the CDS Hooks service: a signed `patient-view` call on localhost, from the
request leaving the client to the whole response read, with the service warm.

The service runs as a user runs it (`decision-aid serve-cds`, its own process, one worker,
logging one line per request) with a throw-away key pair and configuration in a temporary
folder; the client signs every token before the clock starts (signing is the record system's
work) and sends the prefetch of a few sample charts in turn over one keep-alive connection.
"""

from __future__ import annotations

import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from decision_aid.records.cds_texts import cds_texts

ISSUER = "https://ehr.example.org"
KID = "bench-key"
WARM_UP = 50


def patient_view_ms(requests: int = 1000) -> tuple[float, float]:
    """(median, 99th percentile) in ms of `requests` signed patient-view calls."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = {**json.loads(jwt.get_algorithm_by_name("RS256").to_jwk(key.public_key())), "kid": KID, "alg": "RS256"}
    port = _free_port()
    url = f"http://127.0.0.1:{port}/cds-services/{cds_texts().service.id}"
    bodies = [json.dumps(_request(chart)).encode() for chart in _charts()]
    with tempfile.TemporaryDirectory() as folder:
        jwks = Path(folder) / "jwks.json"
        jwks.write_text(json.dumps({"keys": [jwk]}))
        config = Path(folder) / "cds.toml"
        config.write_text(f'[[issuers]]\niss = "{ISSUER}"\njwks_file = "{jwks.as_posix()}"\n')
        command = [sys.executable, "-m", "decision_aid", "serve-cds", "--port", str(port), "--config", str(config)]
        log = (Path(folder) / "serve-cds.log").open("wb")  # a file, not a pipe: the log never blocks the server
        server = subprocess.Popen(command, stdout=log, stderr=log)
        try:
            _wait_for(port, server, Path(log.name))
            tokens = [_token(key, url) for _ in range(WARM_UP + requests)]
            times = []
            with httpx.Client(timeout=30) as client:
                for n, token in enumerate(tokens):
                    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
                    body = bodies[n % len(bodies)]
                    start = time.perf_counter()
                    response = client.post(url, content=body, headers=headers)
                    response.read()
                    took = (time.perf_counter() - start) * 1000
                    if response.status_code != 200:
                        raise SystemExit(f"the CDS Hooks service answered {response.status_code}")
                    if n >= WARM_UP:
                        times.append(took)
        finally:
            server.terminate()
            server.wait(timeout=30)
            log.close()
    times.sort()
    return statistics.median(times), times[int(0.99 * (len(times) - 1))]


def _token(key: Any, audience: str) -> str:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": audience, "iat": now, "exp": now + 300, "jti": str(uuid.uuid4())}
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": KID, "typ": "JWT"})


def _request(chart: dict[str, Any]) -> dict[str, Any]:
    return {
        "hook": "patient-view",
        "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/bench", "patientId": chart["patient"]["id"]},
        "prefetch": chart,
    }


def _charts() -> list[dict[str, Any]]:
    """Sample prefetches in the shapes of the FHIR R4 examples: a lumbar stenosis with a BMI,
    smoking status and bone density; the same with cauda equina syndrome coded; no spine diagnosis."""

    def condition(pid: str, rid: str, code: str, display: str) -> dict[str, Any]:
        return {
            "resourceType": "Condition",
            "id": rid,
            "clinicalStatus": {
                "coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]
            },
            "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": code, "display": display}]},
            "subject": {"reference": f"Patient/{pid}"},
        }

    def observation(pid: str, rid: str, code: str, value: dict[str, Any]) -> dict[str, Any]:
        today = time.strftime("%Y-%m-%d")
        return {
            "resourceType": "Observation",
            "id": rid,
            "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
            "subject": {"reference": f"Patient/{pid}"},
            "effectiveDateTime": today,
            **value,
        }

    def searchset(*resources: dict[str, Any]) -> dict[str, Any] | None:
        if not resources:
            return None
        return {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": r} for r in resources]}

    charts = []
    for pid, extra in (("bench-1", None), ("bench-2", ("G83.4", "Cauda equina syndrome")), ("bench-3", "none")):
        patient = {"resourceType": "Patient", "id": pid, "gender": "male", "birthDate": "1958-06-30"}
        lumbar = condition(pid, "c1", "M48.062", "Spinal stenosis, lumbar region with neurogenic claudication")
        conditions = [] if extra == "none" else [lumbar]
        if isinstance(extra, tuple):
            conditions.append(condition(pid, "c2", *extra))
        ucum = {"system": "http://unitsofmeasure.org", "code": "kg/m2"}
        bmi = {"valueQuantity": {"value": 29.1, "unit": "kg/m2", **ucum}}
        never = {"valueCodeableConcept": {"coding": [{"system": "http://snomed.info/sct", "code": "266919005"}]}}
        observations = [observation(pid, "o1", "39156-5", bmi), observation(pid, "o2", "72166-2", never)]
        charts.append(
            {
                "patient": patient,
                "conditions": searchset(*conditions),
                "observations": searchset(*observations),
                "procedures": None,
            }
        )
    return charts


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(port: int, server: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"decision-aid serve-cds stopped: {log.read_text(errors='replace')[-500:]}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise SystemExit("decision-aid serve-cds did not start")
