"""The CDS Hooks messages as pydantic models: the request a record system sends, and the
discovery document and cards the service returns (specification, current draft).

Invariants, checked when a model is built so that no invalid card can leave the service:
every card has a uuid, a summary of 1 to 139 characters, an indicator of info, warning or
critical, and a source with a label; suggestions come with a selectionBehavior; links are
absolute or smart with a URL. Optional members that have no value are omitted from the JSON
(`dump`), never sent as null or empty, as the specification requires.
"""

from __future__ import annotations

import re
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

HOOK = "patient-view"
# A FHIR id (R4: [A-Za-z0-9\-\.]{1,64}); it goes into FHIR URLs, so nothing else is accepted.
FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
USER_TYPES = ("Practitioner", "PractitionerRole", "Patient", "RelatedPerson")


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    def dump(self) -> dict[str, Any]:
        """The JSON object, with every member that has no value left out."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


def new_uuid() -> str:
    return str(uuid.uuid4())


class Coding(_Message):
    system: str = Field(min_length=1)
    code: str = Field(min_length=1)
    display: str | None = Field(default=None, min_length=1)


class Source(_Message):
    label: str = Field(min_length=1)
    url: str | None = Field(default=None, pattern=r"^https?://")
    topic: Coding | None = None


class Link(_Message):
    label: str = Field(min_length=1)
    url: str = Field(pattern=r"^https?://")
    type: Literal["absolute", "smart"] = "absolute"


class Action(_Message):
    type: Literal["create", "update", "delete"]
    description: str = Field(min_length=1)
    resource: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _resource_for_create(self) -> Action:
        if self.type in ("create", "update") and not self.resource:
            raise ValueError(f"a {self.type} action carries the resource")
        return self


class Suggestion(_Message):
    label: str = Field(min_length=1)
    uuid: str = Field(default_factory=new_uuid)
    is_recommended: bool | None = Field(default=None, alias="isRecommended")
    actions: list[Action] | None = Field(default=None, min_length=1)


class Card(_Message):
    uuid: str = Field(default_factory=new_uuid)
    summary: str = Field(min_length=1, max_length=139)  # "<140-character summary"
    detail: str | None = Field(default=None, min_length=1)  # GitHub-flavoured markdown
    indicator: Literal["info", "warning", "critical"]
    source: Source
    suggestions: list[Suggestion] | None = Field(default=None, min_length=1)
    selection_behavior: Literal["at-most-one", "any"] | None = Field(default=None, alias="selectionBehavior")
    links: list[Link] | None = Field(default=None, min_length=1)

    @field_validator("uuid")
    @classmethod
    def _a_uuid(cls, value: str) -> str:
        uuid.UUID(value)
        return value

    @model_validator(mode="after")
    def _selection(self) -> Card:
        if self.suggestions and self.selection_behavior is None:
            raise ValueError("suggestions need a selectionBehavior")
        return self


class CdsResponse(_Message):
    cards: list[Card]


class Service(_Message):
    hook: str
    title: str
    description: str
    id: str
    prefetch: dict[str, str]
    usage_requirements: str | None = Field(default=None, alias="usageRequirements")


class Discovery(_Message):
    services: list[Service]


# ---- the request ---------------------------------------------------------------------------


class _Request(BaseModel):
    # Members the specification may add later (and `extension`) are ignored, not refused.
    model_config = ConfigDict(extra="ignore", frozen=True, strict=True)


class FhirAuthorization(_Request):
    access_token: str = Field(min_length=1)
    token_type: Literal["Bearer"]
    expires_in: int = Field(gt=0)
    scope: str = Field(min_length=1)
    subject: str = Field(min_length=1)
    patient: str | None = None


class PatientViewContext(_Request):
    userId: str  # noqa: N815 - the specification's names
    patientId: str  # noqa: N815
    encounterId: str | None = None  # noqa: N815

    @field_validator("userId")
    @classmethod
    def _user(cls, value: str) -> str:
        kind, _, ident = value.partition("/")
        if kind not in USER_TYPES or not FHIR_ID.fullmatch(ident):
            raise ValueError(f"expected ResourceType/id with ResourceType one of {', '.join(USER_TYPES)}")
        return value

    @field_validator("patientId", "encounterId")
    @classmethod
    def _fhir_id(cls, value: str | None) -> str | None:
        if value is not None and not FHIR_ID.fullmatch(value):
            raise ValueError("expected a FHIR id (letters, digits, '-' and '.', at most 64)")
        return value


class HookRequest(_Request):
    hook: str
    hookInstance: str  # noqa: N815
    fhirServer: str | None = Field(default=None, pattern=r"^https?://[^\s]+$")  # noqa: N815
    fhirAuthorization: FhirAuthorization | None = None  # noqa: N815
    context: PatientViewContext
    prefetch: dict[str, dict[str, Any] | None] | None = None

    @field_validator("hookInstance")
    @classmethod
    def _uuid(cls, value: str) -> str:
        try:
            uuid.UUID(value)
        except ValueError:
            raise ValueError("expected a UUID") from None
        return value

    @model_validator(mode="after")
    def _server_with_authorization(self) -> HookRequest:
        if self.fhirAuthorization is not None and self.fhirServer is None:
            raise ValueError("fhirServer is required with fhirAuthorization")
        return self
