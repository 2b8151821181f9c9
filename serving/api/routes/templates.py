"""Templates: CRUD with immutable versions (every update adds one; a template in use is
archived, not deleted) and a sandboxed preview render."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

import psycopg
from fastapi import APIRouter, Depends, Path, Query, status
from pydantic import BaseModel, Field

from delivery.rendering import RenderLimitExceeded, TemplateError, default_sandbox

from ...auth import Permission, Principal
from ...campaigns import templates as store
from ...campaigns.preview import UnknownVariant, render_preview
from ...errors import Conflict, NotFound, ValidationFailed
from ..deps import CellsDep, require
from ..protobuf import ProtobufRoute
from ..responses import AUTHENTICATED, errors

router = APIRouter(
    route_class=ProtobufRoute,
    prefix="/v1/templates",
    tags=["templates"],
    responses=errors(*AUTHENTICATED),
)
Reader = Annotated[Principal, Depends(require(Permission.TEMPLATES_READ))]
Writer = Annotated[Principal, Depends(require(Permission.TEMPLATES_WRITE))]
NOT_FOUND = {404: ("template_not_found", "no template 3f0c2d1e-... in your organization")}
MAX_HTML = 512_000


class Variant(BaseModel):
    key: str = Field(min_length=1, max_length=64, examples=["A"])
    blocks: dict[str, str] = Field(
        default_factory=dict, max_length=50, description="partials this variant overrides",
        examples=[{"hero": "<h1>Autumn sale</h1>"}],
    )  # fmt: skip


class TemplateContent(BaseModel):
    subject: str = Field(min_length=1, max_length=998, examples=["Hello {{first_name}}"])
    html: str = Field(min_length=1, max_length=MAX_HTML, examples=["<p>Hi {{first_name}}</p>"])
    text: str | None = Field(None, max_length=MAX_HTML, examples=["Hi {{first_name}}"])
    partials: dict[str, str] = Field(default_factory=dict, max_length=50)
    variants: list[Variant] = Field(default_factory=list, max_length=20)

    def content(self) -> store.Content:
        return store.Content(
            self.subject, self.html, self.text, dict(self.partials),
            [v.model_dump() for v in self.variants],
        )  # fmt: skip


class TemplateCreate(TemplateContent):
    name: str = Field(min_length=1, max_length=200, examples=["Autumn newsletter"])


class TemplateUpdate(TemplateContent):
    name: str | None = Field(None, min_length=1, max_length=200, description="rename as well")


class TemplateVersionPublic(BaseModel):
    version: int
    subject: str
    html: str
    text: str | None
    partials: dict[str, str]
    variants: list[dict[str, Any]]
    created_at: datetime


class TemplatePublic(BaseModel):
    template_id: uuid.UUID
    name: str
    latest_version: int
    created_at: datetime
    archived_at: datetime | None
    current: TemplateVersionPublic


class TemplateDeleted(BaseModel):
    template_id: uuid.UUID
    outcome: Literal["deleted", "archived"] = Field(
        description="archived when campaigns or messages reference the template"
    )


class PreviewRequest(BaseModel):
    variables: dict[str, Any] = Field(
        default_factory=dict, max_length=200, examples=[{"first_name": "Ada"}]
    )
    version: int | None = Field(None, ge=1, le=1_000_000, description="default: the latest version")
    variant: str | None = Field(None, max_length=64, description="default: the first variant")


class TemplatePreview(BaseModel):
    template_id: uuid.UUID
    version: int
    subject: str = Field(examples=["Hello Ada"])
    html: str = Field(examples=["<p>Hi Ada</p>"])
    text: str | None = Field(None, examples=["Hi Ada"])


def _public(record: store.TemplateRecord) -> TemplatePublic:
    return TemplatePublic(
        template_id=record.template_id,
        name=record.name,
        latest_version=record.latest_version,
        created_at=record.created_at,
        archived_at=record.archived_at,
        current=_version(record.current),
    )


def _version(version: store.Version) -> TemplateVersionPublic:
    return TemplateVersionPublic(
        version=version.version, subject=version.subject, html=version.html, text=version.text,
        partials=version.partials, variants=version.variants, created_at=version.created_at,
    )  # fmt: skip


def _translate(exc: store.TemplateStoreError | psycopg.DataError) -> Exception:
    if isinstance(exc, psycopg.DataError):
        return ValidationFailed("invalid_text", f"the body holds text the database refuses: {exc}")
    if isinstance(exc, store.TemplateNotFound):
        return NotFound(exc.code, str(exc))
    return Conflict(exc.code, str(exc))


@router.post(
    "",
    response_model=TemplatePublic,
    status_code=status.HTTP_201_CREATED,
    summary="Create a template (its version 1)",
    responses=errors(examples={409: ("template_name_taken", "a template named 'Autumn' exists")}),
)
def create_template(body: TemplateCreate, principal: Writer, cells: CellsDep) -> TemplatePublic:
    try:
        with cells.connection("control") as conn:
            record = store.create(conn, principal.org_id, body.name, body.content())
    except (store.TemplateStoreError, psycopg.DataError) as exc:
        raise _translate(exc) from None
    return _public(record)


@router.get(
    "", response_model=list[TemplatePublic], summary="The organization's templates"
)  # fmt: skip
def list_templates(
    principal: Reader,
    cells: CellsDep,
    include_archived: bool = False,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[TemplatePublic]:
    with cells.connection("control") as conn:
        found = store.listing(
            conn, principal.org_id, archived=include_archived, limit=limit, offset=offset
        )
    return [_public(record) for record in found]


@router.get(
    "/{template_id}", response_model=TemplatePublic, summary="A template and its latest version",
    responses=errors(examples=NOT_FOUND),
)  # fmt: skip
def get_template(template_id: uuid.UUID, principal: Reader, cells: CellsDep) -> TemplatePublic:
    try:
        with cells.connection("control") as conn:
            return _public(store.get(conn, principal.org_id, template_id))
    except (store.TemplateStoreError, psycopg.DataError) as exc:
        raise _translate(exc) from None


@router.put(
    "/{template_id}",
    response_model=TemplatePublic,
    summary="Update a template: adds a new immutable version",
    responses=errors(
        examples={**NOT_FOUND, 409: ("template_archived", "template 3f0c... is archived")}
    ),
)
def update_template(
    template_id: uuid.UUID, body: TemplateUpdate, principal: Writer, cells: CellsDep
) -> TemplatePublic:
    try:
        with cells.connection("control") as conn:
            record = store.update(conn, principal.org_id, template_id, body.content(), body.name)
    except (store.TemplateStoreError, psycopg.DataError) as exc:
        raise _translate(exc) from None
    return _public(record)


@router.delete(
    "/{template_id}",
    response_model=TemplateDeleted,
    summary="Delete a template, or archive it when campaigns or messages reference it",
    responses=errors(examples=NOT_FOUND),
)
def delete_template(template_id: uuid.UUID, principal: Writer, cells: CellsDep) -> TemplateDeleted:
    def sent_with(candidate: uuid.UUID) -> bool:
        for region in cells.regions:
            with cells.connection(region) as conn:
                row = conn.execute(
                    "SELECT EXISTS (SELECT 1 FROM messages WHERE org_id = %s AND template_id = %s)",
                    (principal.org_id, candidate),
                ).fetchone()
            if row is not None and row[0]:
                return True
        return False

    try:
        with cells.connection("control") as conn:
            outcome = store.remove(conn, principal.org_id, template_id, sent_with)
    except (store.TemplateStoreError, psycopg.DataError) as exc:
        raise _translate(exc) from None
    return TemplateDeleted(template_id=template_id, outcome=outcome)


@router.get(
    "/{template_id}/versions", response_model=list[TemplateVersionPublic],
    summary="Every version of a template, oldest first", responses=errors(examples=NOT_FOUND),
)  # fmt: skip
def list_versions(
    template_id: uuid.UUID, principal: Reader, cells: CellsDep
) -> list[TemplateVersionPublic]:
    try:
        with cells.connection("control") as conn:
            return [_version(v) for v in store.versions(conn, principal.org_id, template_id)]
    except (store.TemplateStoreError, psycopg.DataError) as exc:
        raise _translate(exc) from None


@router.get(
    "/{template_id}/versions/{version}", response_model=TemplateVersionPublic,
    summary="One version of a template", responses=errors(examples=NOT_FOUND),
)  # fmt: skip
def get_version(
    template_id: uuid.UUID,
    version: Annotated[int, Path(ge=1, le=1_000_000)],
    principal: Reader,
    cells: CellsDep,
) -> TemplateVersionPublic:
    try:
        with cells.connection("control") as conn:
            return _version(store.version(conn, principal.org_id, template_id, version))
    except (store.TemplateStoreError, psycopg.DataError) as exc:
        raise _translate(exc) from None


@router.post(
    "/{template_id}/preview",
    response_model=TemplatePreview,
    summary="Render a version with sample variables in the sandbox (nothing is sent)",
    responses=errors(
        examples={
            **NOT_FOUND,
            422: ("template_too_expensive", "template exceeded the cpu limit: ..."),
        }
    ),
)
def preview_template(
    template_id: uuid.UUID, body: PreviewRequest, principal: Reader, cells: CellsDep
) -> TemplatePreview:
    try:
        with cells.connection("control") as conn:
            version = store.version(conn, principal.org_id, template_id, body.version)
    except (store.TemplateStoreError, psycopg.DataError) as exc:
        raise _translate(exc) from None
    try:
        rendered = render_preview(default_sandbox(), version, body.variables, body.variant)
    except RenderLimitExceeded as exc:
        raise ValidationFailed("template_too_expensive", str(exc)) from None
    except TemplateError as exc:
        raise ValidationFailed(
            "invalid_template", f"the template cannot be rendered: {exc}"
        ) from None
    except UnknownVariant as exc:
        raise ValidationFailed("unknown_variant", str(exc)) from None
    return TemplatePreview(template_id=template_id, version=version.version, **rendered.__dict__)
