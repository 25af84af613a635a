"""The CDS Hooks service: `decision-aid serve-cds` (FastAPI under uvicorn, one worker).

Endpoints (specification, current draft):
- `GET /cds-services`: discovery, one service on `patient-view` with its prefetch templates;
- `POST /cds-services/{id}`: cards for the patient whose chart opened.

A call is answered in this order: an unknown service id 404; a bearer token failing any check
(decision_aid.records.cds_security) 401 with an empty body; a body over the limit 413, counted
while it is read and before any parsing; malformed JSON, a request that breaks the
specification's rules or a hook other than `patient-view` 400, naming the member, never
quoting data; then 200 with cards, each checked against the specification's card rules.

Invariants: nothing about a patient is logged (one line per request: method, path, status,
time; errors by type name only), and no response carries a stack trace. durable-rules is not
thread-safe, so every import and assessment runs on one dedicated thread.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import date
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from decision_aid.engine.assessment import DecisionAid
from decision_aid.errors import InputError
from decision_aid.json_text import read_json
from decision_aid.records.cds_cards import CardContext, cards_for
from decision_aid.records.cds_config import CdsConfig
from decision_aid.records.cds_fetch import BadPrefetch, gather, prefetch_templates
from decision_aid.records.cds_models import HOOK, CdsResponse, Discovery, HookRequest, Service
from decision_aid.records.cds_security import TokenVerifier, Unauthorized
from decision_aid.records.cds_texts import cds_texts
from decision_aid.records.fhir_import import import_bundle

log = logging.getLogger("decision_aid.cds")
_RESOURCE_ID = re.compile(r"\s*\([A-Za-z]+/[^)]*\)")  # "entry[0] (Patient/123).birthDate": the id left out


class _Refused(Exception):
    def __init__(self, status: int, message: str):
        self.status, self.message = status, message


def create_app(config: CdsConfig, aid: DecisionAid, verifier: TokenVerifier | None = None) -> ASGIApp:
    """The ASGI app for `config`, assessing with `aid` (its engine is used from one thread only)."""
    texts = cds_texts()
    verifier = verifier or TokenVerifier(config)
    engine_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="decision-aid-engine")
    discovery = Discovery(
        services=[
            Service(
                hook=HOOK,
                id=texts.service.id,
                title=texts.service.title,
                description=texts.service.description,
                usage_requirements=texts.service.usage_requirements,
                prefetch=prefetch_templates(),
            )
        ]
    ).dump()
    state: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        async with httpx.AsyncClient(trust_env=False) as client:
            state["client"] = client
            yield
        engine_thread.shutdown(wait=True)

    app = FastAPI(title="decision_aid CDS Hooks", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/cds-services")
    async def discover() -> JSONResponse:
        return JSONResponse(discovery)

    @app.post("/cds-services/{service_id}")
    async def call(service_id: str, request: Request) -> Response:
        try:
            if service_id != texts.service.id:
                raise _Refused(404, "no such CDS service")
            try:  # on a worker thread: fetching an issuer's JWKS URL must not hold up other calls
                audience = f"{config.service_url}/cds-services/{service_id}"
                await asyncio.to_thread(verifier.verify, request.headers.get("authorization"), audience)
            except Unauthorized as refused:
                log.info("token refused: %s", refused.reason)  # the reason names a check, never a claim's value
                return Response(status_code=401, headers={"WWW-Authenticate": "Bearer"})
            hook = _hook_request(await _read(request, config.max_body_bytes))
            gathered = await gather(hook, config, state.get("client"))
            context = CardContext(
                knowledge=aid.knowledge,
                jurisdiction=config.jurisdiction,
                app_url=config.app_url,
                orderable_tests=texts.orderable_tests,
                patient_id=hook.context.patientId,
            )
            loop = asyncio.get_running_loop()
            bundle = gathered.bundle()
            cards = await loop.run_in_executor(engine_thread, _advise, bundle, gathered.missing, aid, context)
            return JSONResponse(cards)
        except _Refused as refused:
            return JSONResponse({"error": refused.message}, status_code=refused.status)
        except BadPrefetch as error:
            return JSONResponse({"error": str(error)}, status_code=400)
        except Exception as error:  # a bug: no trace, no data, in the response or the log
            log.error("internal error answering a hook call: %s", type(error).__name__)
            return JSONResponse({"error": "internal error"}, status_code=500)

    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(config.cors_origins),
        allow_methods=["GET", "POST"],
        allow_headers=["Authorization", "Content-Type"],
        allow_credentials=False,
        max_age=600,
    )
    return _AccessLog(app)


async def _read(request: Request, limit: int) -> bytes:
    """The body, refused with 413 as soon as it is known to exceed `limit` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _Refused(413, f"request body larger than {limit:,} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise _Refused(413, f"request body larger than {limit:,} bytes")
    return bytes(body)


def _hook_request(body: bytes) -> HookRequest:
    """The validated request; 400 naming each member that breaks the specification's rules."""
    try:
        data = read_json(body, "request body")
    except InputError as error:
        raise _Refused(400, "; ".join(str(p) for p in error.problems)) from None
    if not isinstance(data, dict):
        raise _Refused(400, "request body: expected a JSON object")
    if data.get("hook") != HOOK:
        raise _Refused(400, f"hook: this service answers the {HOOK} hook only")
    try:
        return HookRequest.model_validate(data)
    except ValidationError as error:
        problems = [f"{'.'.join(str(p) for p in e['loc']) or 'request body'}: {e['msg']}" for e in error.errors()]
        raise _Refused(400, "; ".join(problems[:10])) from None


def _advise(bundle: dict[str, Any], missing: list[str], aid: DecisionAid, context: CardContext) -> dict[str, Any]:
    """On the engine thread: import the record and build the cards (checked by CdsResponse)."""
    try:
        record = import_bundle(bundle, as_of=date.today())
    except InputError as error:  # the elements named, never their values (they may be patient data)
        where = ", ".join(sorted({_RESOURCE_ID.sub("", p.field) for p in error.problems})[:5])
        raise BadPrefetch(f"prefetch: not valid FHIR R4 (at {where})") from None
    return CdsResponse(cards=cards_for(record, aid, context, missing)).dump()


class _AccessLog:
    """One log line per request: method, path, status and time; never a query string or a body."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start, status = time.perf_counter(), [0]

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            took = (time.perf_counter() - start) * 1000
            log.info("%s %s %d %.1f ms", scope["method"], scope["path"][:200], status[0], took)


def serve(host: str, port: int, config: CdsConfig) -> None:
    """Run the service under uvicorn (one worker: the jti replay cache is per process)."""
    import uvicorn

    from decision_aid.engine.assessment import default_aid

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for chatty in ("httpx", "httpcore"):  # their INFO lines hold fhirServer query URLs with patient ids
        logging.getLogger(chatty).setLevel(logging.WARNING)
    aid = default_aid()
    app = create_app(config, aid)
    log.info(
        "decision_aid CDS Hooks service on http://%s:%d (knowledge %s, %s; settings from %s)",
        host,
        port,
        aid.knowledge.version,
        config.jurisdiction,
        ", ".join(config.sources) or "defaults",
    )
    uvicorn.run(app, host=host, port=port, workers=1, access_log=False, server_header=False, log_level="info")
