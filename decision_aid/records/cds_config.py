"""The CDS Hooks service's settings: from a TOML file (`--config FILE`), then environment
variables (DECISION_AID_CDS_*), which override the file key by key.

Invariants: a configuration that loads is usable. Every issuer has exactly one key source
(a JWKS file that parses, or an https URL under an allowed prefix); the jurisdiction is one
the contract allows; URLs are absolute; limits are positive. Anything else raises
ConfigError with one line per problem, naming the key (or variable) and its allowed values.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from decision_aid.errors import DecisionAidError
from decision_aid.json_text import MAX_INPUT_BYTES
from decision_aid.models import DEFAULT_JURISDICTION, JURISDICTIONS

ENV_PREFIX = "DECISION_AID_CDS_"
DEFAULT_MAX_BODY_BYTES = MAX_INPUT_BYTES  # as every other input (a patient file, a batch line, an upload)
LOOPBACK = ("127.0.0.1", "localhost", "::1")

# key -> (kind, what it is): the file's keys and, upper-cased with the prefix, the variables'.
KEYS: dict[str, tuple[str, str]] = {
    "service_url": ("url", "the service's own base URL; a token's `aud` must be the endpoint called under it"),
    "jurisdiction": ("choice", "whose guidance the verdicts follow"),
    "app_url": ("url", "the decision_aid app that cards link to"),
    "max_body_bytes": ("int", "largest request body accepted"),
    "cors_origins": ("list", "browser origins allowed to call the service"),
    "max_token_lifetime_seconds": ("int", "longest accepted `exp` - `iat` of a bearer token"),
    "clock_skew_seconds": ("int", "tolerance on `exp` and `iat`"),
    "jwks_url_allow": ("list", "URL prefixes an issuer's JWKS URL must start with"),
    "fhir_server_allow": ("list", "URL prefixes a request's fhirServer must start with to be queried"),
    "fhir_timeout_seconds": ("float", "timeout of each query to a fhirServer"),
    "issuers": ("issuers", "trusted token issuers and where their public keys are"),
}


class ConfigError(DecisionAidError):
    """The service's configuration is invalid; one line per problem."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass(frozen=True)
class Issuer:
    """A trusted issuer (`iss`) of bearer tokens and where its JWK Set is."""

    iss: str
    jwks: dict[str, Any] | None = None  # read from a file when the service starts
    jwks_url: str | None = None  # fetched when first needed, then cached


@dataclass(frozen=True)
class CdsConfig:
    service_url: str
    issuers: dict[str, Issuer]
    jurisdiction: str = DEFAULT_JURISDICTION
    app_url: str = "http://localhost:8501"
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    cors_origins: tuple[str, ...] = ()
    max_token_lifetime_seconds: int = 300
    clock_skew_seconds: int = 30
    jwks_url_allow: tuple[str, ...] = ()
    fhir_server_allow: tuple[str, ...] = ()
    fhir_timeout_seconds: float = 5.0
    sources: tuple[str, ...] = field(default=(), compare=False)  # where the settings came from, for the log


def load_config(
    path: str | Path | None = None, env: Mapping[str, str] | None = None, default_service_url: str | None = None
) -> CdsConfig:
    """The configuration from `path` (TOML) and then `env` (default: os.environ); ConfigError if invalid."""
    env = os.environ if env is None else env
    raw: dict[str, Any] = {}
    sources = []
    if path is not None:
        raw = _read_toml(Path(path))
        sources.append(str(path))
    problems: list[str] = [f"{path}: unknown key '{k}' (allowed: {', '.join(KEYS)})" for k in raw if k not in KEYS]
    from_env = _from_env(env, problems)
    if from_env:
        sources.append("environment")
    raw = {k: v for k, v in raw.items() if k in KEYS} | from_env
    if default_service_url and "service_url" not in raw:
        raw["service_url"] = default_service_url
    values = _checked(raw, problems)
    if problems:
        raise ConfigError(problems)
    return CdsConfig(**values, sources=tuple(sources))


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError([f"cannot read {path}: {error.strerror or error}"]) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigError([f"{path}: not valid TOML: {error}"]) from None


def _from_env(env: Mapping[str, str], problems: list[str]) -> dict[str, Any]:
    """DECISION_AID_CDS_<KEY>: lists comma-separated; issuers as a JSON object {iss: JWKS file or URL}."""
    out: dict[str, Any] = {}
    known = {ENV_PREFIX + k.upper(): k for k in KEYS}
    for name, text in env.items():
        if not name.startswith(ENV_PREFIX):
            continue
        if name not in known:
            problems.append(f"{name}: unknown variable (allowed: {', '.join(sorted(known))})")
            continue
        key = known[name]
        kind = KEYS[key][0]
        if kind == "list":
            out[key] = [part.strip() for part in text.split(",") if part.strip()]
        elif kind == "issuers":
            try:
                mapping = json.loads(text)
            except json.JSONDecodeError:
                mapping = None
            if not isinstance(mapping, dict):
                problems.append(f'{name}: expected a JSON object {{"issuer": "JWKS file or https URL"}}')
                continue
            out[key] = [{"iss": iss, **_location(where)} for iss, where in mapping.items()]
        elif kind in ("int", "float"):
            try:
                out[key] = int(text) if kind == "int" else float(text)
            except ValueError:
                problems.append(f"{name}: expected a number, got {text[:40]!r}")
        else:
            out[key] = text
    return out


def _location(where: Any) -> dict[str, Any]:
    if isinstance(where, str) and where.startswith(("https://", "http://")):
        return {"jwks_url": where}
    return {"jwks_file": where}


def _checked(raw: dict[str, Any], problems: list[str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key, value in raw.items():
        kind = KEYS[key][0]
        if kind == "url":
            if _absolute_url(value):
                values[key] = value.rstrip("/")
            else:
                problems.append(f"{key}: expected an absolute http(s) URL, got {str(value)[:80]!r}")
        elif kind == "choice":
            if value in JURISDICTIONS:
                values[key] = value
            else:
                allowed = ", ".join(JURISDICTIONS)
                got = str(value)[:40]
                problems.append(f"jurisdiction: got {got!r}; allowed: {allowed} (default {DEFAULT_JURISDICTION})")
        elif kind in ("int", "float"):
            number_ok = isinstance(value, (int, float)) and not isinstance(value, bool)
            if not number_ok or value <= 0 or (kind == "int" and not float(value).is_integer()):
                problems.append(f"{key}: expected a positive {'integer' if kind == 'int' else 'number'}, got {value!r}")
            elif key == "max_body_bytes" and value > DEFAULT_MAX_BODY_BYTES:
                problems.append(f"{key}: at most {DEFAULT_MAX_BODY_BYTES:,} (the limit of any JSON input), got {value}")
            else:
                values[key] = int(value) if kind == "int" else float(value)
        elif kind == "list":
            if isinstance(value, list) and all(isinstance(v, str) and v for v in value):
                values[key] = tuple(v.rstrip("/") if key == "cors_origins" else v for v in value)
            else:
                problems.append(f"{key}: expected a list of strings")
    if "service_url" not in values and not any(p.startswith("service_url") for p in problems):
        problems.append(f"service_url: required (set it in the file or {ENV_PREFIX}SERVICE_URL)")
    for prefix in values.get("jwks_url_allow", ()):
        if not _secure_url(prefix):
            local = ", ".join(LOOPBACK)
            problems.append(f"jwks_url_allow: {prefix[:80]!r} must be an https URL (http only on {local})")
    values["issuers"] = _issuers(raw.get("issuers"), values.get("jwks_url_allow", ()), problems)
    return values


def _issuers(raw: Any, allowed_urls: tuple[str, ...], problems: list[str]) -> dict[str, Issuer]:
    if not raw:
        problems.append(
            f"issuers: at least one trusted issuer is required ([[issuers]] in the file, or {ENV_PREFIX}ISSUERS)"
        )
        return {}
    if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
        problems.append("issuers: expected a list of tables, each with iss and jwks_file or jwks_url")
        return {}
    out: dict[str, Issuer] = {}
    for n, item in enumerate(raw, 1):
        where = f"issuers[{n}]"
        unknown = set(item) - {"iss", "jwks_file", "jwks_url"}
        if unknown:
            problems.append(f"{where}: unknown key(s) {', '.join(sorted(unknown))} (allowed: iss, jwks_file, jwks_url)")
        iss = item.get("iss")
        if not isinstance(iss, str) or not iss:
            problems.append(f"{where}: iss: required (the issuer's URI, exactly as in its tokens)")
            continue
        if iss in out:
            problems.append(f"{where}: iss {iss!r} is listed twice")
            continue
        if ("jwks_file" in item) == ("jwks_url" in item):
            problems.append(f"{where} ({iss}): give exactly one of jwks_file or jwks_url")
            continue
        if "jwks_file" in item:
            jwks = _read_jwks(item["jwks_file"], f"{where} ({iss}): jwks_file", problems)
            if jwks is not None:
                out[iss] = Issuer(iss, jwks=jwks)
            continue
        url = item["jwks_url"]
        if not isinstance(url, str) or not _secure_url(url):
            problems.append(f"{where} ({iss}): jwks_url must be an https URL (http only on {', '.join(LOOPBACK)})")
        elif not any(under(url, prefix) for prefix in allowed_urls):
            problems.append(f"{where} ({iss}): jwks_url {url[:80]!r} is not under any prefix of jwks_url_allow")
        else:
            out[iss] = Issuer(iss, jwks_url=url)
    return out


def _read_jwks(path: Any, where: str, problems: list[str]) -> dict[str, Any] | None:
    from jwt import PyJWKSet
    from jwt.exceptions import PyJWKSetError

    if not isinstance(path, str) or not path:
        problems.append(f"{where}: expected a file path")
        return None
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        PyJWKSet.from_dict(data)  # every key usable, or an error
    except OSError as error:
        problems.append(f"{where}: cannot read {path}: {error.strerror or error}")
        return None
    except (ValueError, PyJWKSetError, AttributeError, TypeError) as error:
        problems.append(f"{where}: {path} is not a JSON Web Key Set: {str(error)[:120]}")
        return None
    if not all(isinstance(key, dict) and key.get("kid") for key in data.get("keys", [])):
        problems.append(f"{where}: every key in {path} needs a kid (the spec's tokens name their key by kid)")
        return None
    return data


def _absolute_url(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _secure_url(value: str) -> bool:
    """https, or http on this machine only (tests and a local record system)."""
    parts = urlsplit(value)
    if parts.scheme == "https":
        return bool(parts.hostname)
    return parts.scheme == "http" and parts.hostname in LOOPBACK


def under(url: str, allowed: str) -> bool:
    """True when `url` is the `allowed` URL or below it: the scheme, host and port equal (the
    default port counted), no user part, no `..` segment, and the path the allowed path or
    below it at a `/`. Not a text prefix: `https://a.org.evil.net` is not under `https://a.org`."""
    try:
        got, want = urlsplit(url), urlsplit(allowed)
        ports = (got.port or _PORTS.get(got.scheme.lower()), want.port or _PORTS.get(want.scheme.lower()))
    except ValueError:
        return False
    if not got.hostname or "@" in got.netloc or got.fragment or ".." in got.path.split("/"):
        return False
    if (got.scheme.lower(), got.hostname, ports[0]) != (want.scheme.lower(), want.hostname, ports[1]):
        return False
    base = want.path.rstrip("/")
    return got.path.rstrip("/") == base or got.path.startswith(base + "/")


_PORTS = {"https": 443, "http": 80}


def secure_url(value: str) -> bool:
    """True for an https URL, or an http URL on this machine (for fhirServer checks elsewhere)."""
    return isinstance(value, str) and _secure_url(value)
