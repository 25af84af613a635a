"""The record data of one `patient-view` call: the prefetch templates the service asks for, and
the resources gathered from the request's prefetch or, for what it lacks, from its `fhirServer`.

Rules (specification, "Providing FHIR Resources to a CDS Service"):
- a prefetch key with the value null means the record has no such data (nothing to fetch);
- a key left out, an OperationOutcome in its place, or a paginated Bundle means the data were
  not (all) provided: they are fetched from `fhirServer` only when the request carries both
  `fhirServer` and `fhirAuthorization`, the server is under the configured allow-list and the
  URL is https (http only on this machine); otherwise they are reported as missing;
- fetches use the given access token, a timeout, at most MAX_PAGES pages per query, and follow
  a Bundle's `next` link only on the same server. Nothing fetched is logged or kept.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import httpx

from decision_aid.records.cds_config import CdsConfig, secure_url, under
from decision_aid.records.cds_models import HookRequest
from decision_aid.records.fhir_bundle import reference_key
from decision_aid.records.fhir_codes import code_map

MAX_PAGES = 10
PATIENT_TOKEN = "{{context.patientId}}"

# prefetch key -> (the resource type it returns, words for a card)
KINDS: dict[str, tuple[str, str]] = {
    "patient": ("Patient", "patient details"),
    "conditions": ("Condition", "conditions"),
    "observations": ("Observation", "observations"),
    "procedures": ("Procedure", "procedures"),
}


@cache
def prefetch_templates() -> dict[str, str]:
    """The discovery document's `prefetch`: key -> FHIR query with the patient token.

    Only what the code map (rules/fhir_codes.yaml) reads is asked for: the Patient, and its
    Conditions, Observations and Procedures; Observations only with the mapped codes (a token
    search with equality, as the specification recommends). Conditions and procedures are asked
    for whole, because some entries match a code by its prefix, which a token search cannot."""
    observed = sorted(
        {f"{e.system}|{e.code}" for e in code_map().entries if e.resource_type == "Observation" and not e.prefix}
    )
    codes = f"&code={','.join(observed)}" if observed else ""
    return {
        "patient": f"Patient/{PATIENT_TOKEN}",
        "conditions": f"Condition?patient={PATIENT_TOKEN}",
        "observations": f"Observation?patient={PATIENT_TOKEN}{codes}",
        "procedures": f"Procedure?patient={PATIENT_TOKEN}",
    }


class BadPrefetch(ValueError):
    """The request's prefetch contradicts its templates (the message names the key, never data)."""


@dataclass
class Gathered:
    resources: list[dict[str, Any]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # words for the data that could not be obtained

    def bundle(self) -> dict[str, Any]:
        """Every resource obtained, once, as a FHIR collection Bundle."""
        seen, entries = set(), []
        for resource in self.resources:
            key = (resource.get("resourceType"), resource.get("id"))
            if key[1] is not None and key in seen:
                continue
            seen.add(key)
            entries.append({"resource": resource})
        return {"resourceType": "Bundle", "type": "collection", "entry": entries}


async def gather(request: HookRequest, config: CdsConfig, client: httpx.AsyncClient | None) -> Gathered:
    """The resources of the request's prefetch, completed from its fhirServer where allowed."""
    prefetch = request.prefetch or {}
    patient_id = request.context.patientId
    gathered = Gathered()
    to_fetch = []
    templates = prefetch_templates()
    for key, (kind, words) in KINDS.items():
        query = templates[key]
        if key in prefetch and prefetch[key] is None:
            continue  # the record has none
        complete, resources = _from_prefetch(key, kind, prefetch.get(key), patient_id)
        gathered.resources += resources
        if not complete:
            to_fetch.append((key, query, kind, words))
    access = _access(request, config)
    if to_fetch and (access is None or client is None):
        gathered.missing += [words for _, _, _, words in to_fetch]
        return gathered
    queries = [(query.replace(PATIENT_TOKEN, patient_id), kind) for _, query, kind, _ in to_fetch]
    results = await asyncio.gather(*(_fetch(client, access, query, kind, patient_id) for query, kind in queries))
    for (_, _, _, words), found in zip(to_fetch, results, strict=True):
        if found is None:
            gathered.missing.append(words)
        else:
            gathered.resources += found
    return gathered


def _from_prefetch(key: str, kind: str, value: Any, patient_id: str) -> tuple[bool, list[dict[str, Any]]]:
    """(complete, resources) of one prefetch value: incomplete when absent, an error, or paginated."""
    if value is None:
        return False, []
    found = value.get("resourceType")
    if found == "OperationOutcome":
        return False, []
    if kind == "Patient":
        if found != "Patient":
            raise BadPrefetch(f"prefetch.{key}: expected a Patient resource")
        if value.get("id") != patient_id:
            raise BadPrefetch(f"prefetch.{key}: its id is not context.patientId")
        return True, [value]
    if found != "Bundle":
        raise BadPrefetch(f"prefetch.{key}: expected a searchset Bundle of {kind} resources")
    complete, resources = _entries(value, kind, patient_id)
    if complete is None:
        raise BadPrefetch(f"prefetch.{key}: expected a searchset Bundle of the context patient's {kind} resources")
    return complete, resources


def _entries(bundle: dict[str, Any], kind: str, patient_id: str) -> tuple[bool | None, list[dict[str, Any]]]:
    """(complete, resources of `kind`); complete None when the Bundle is malformed or holds a
    resource about another patient (advice must never mix two patients' records)."""
    entries = bundle.get("entry", [])
    if not isinstance(entries, list):
        return None, []
    resources, complete = [], not _next_link(bundle)
    for entry in entries:
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict):
            return None, []
        if resource.get("resourceType") == "OperationOutcome":
            issues = resource.get("issue", [])
            if any(isinstance(i, dict) and i.get("severity") in ("error", "fatal") for i in issues):
                complete = False
            continue
        if resource.get("resourceType") != kind or not _about(resource, patient_id):
            return None, []
        resources.append(resource)
    return complete, resources


def _about(resource: dict[str, Any], patient_id: str) -> bool:
    """The resource's subject is the patient (`Patient/<id>`, relative or absolute, any version)."""
    subject = resource.get("subject")
    reference = subject.get("reference") if isinstance(subject, dict) else None
    if not isinstance(reference, str):
        return False
    return reference_key(reference) == f"Patient/{patient_id}"


def _next_link(bundle: dict[str, Any]) -> str | None:
    links = bundle.get("link", [])
    if not isinstance(links, list):
        return None
    return next((lk.get("url") for lk in links if isinstance(lk, dict) and lk.get("relation") == "next"), None)


@dataclass(frozen=True)
class _Access:
    server: str
    token: str
    timeout: float


def _access(request: HookRequest, config: CdsConfig) -> _Access | None:
    server, auth = request.fhirServer, request.fhirAuthorization
    if server is None or auth is None:
        return None
    server = server.rstrip("/")
    if not secure_url(server) or not any(under(server, prefix) for prefix in config.fhir_server_allow):
        return None
    return _Access(server, auth.access_token, config.fhir_timeout_seconds)


async def _fetch(
    client: httpx.AsyncClient, access: _Access, query: str, kind: str, patient_id: str
) -> list[dict[str, Any]] | None:
    """The resources of one query, every page; None when the server does not give them all."""
    headers = {"Authorization": f"Bearer {access.token}", "Accept": "application/fhir+json"}
    url: str | None = f"{access.server}/{query}"
    resources: list[dict[str, Any]] = []
    for _ in range(MAX_PAGES):
        try:
            response = await client.get(url, headers=headers, timeout=access.timeout, follow_redirects=False)
            data = response.json() if response.status_code == 200 else None
        except (httpx.HTTPError, ValueError):
            return None
        if not isinstance(data, dict):
            return None
        if kind == "Patient":
            ok = data.get("resourceType") == "Patient" and data.get("id") == patient_id
            return [data] if ok else None
        if data.get("resourceType") != "Bundle":
            return None
        complete, found = _entries(data, kind, patient_id)
        if complete is None:
            return None
        resources += found
        url = _next_link(data)
        if url is None:
            return resources if complete else None  # an error OperationOutcome among the entries
        if not isinstance(url, str) or not under(url, access.server) or url.rstrip("/") == access.server:
            return None
    return None
