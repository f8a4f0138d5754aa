"""Techniques: find by id or slug, list, author (create/update/delete) and present them.

File techniques (built-in and `STAMEN_TECHNIQUES_DIR`) are shared and read-only; authored ones belong to
a workspace and live in the `techniques` table. Both are `StoredTechnique`s to every caller.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from stamen.errors import FieldError, Forbidden, InputValidation, NotFound
from stamen.ids import new_id, now_ms
from stamen.services.pagination import decode_cursor, encode_cursor
from stamen.store.models import Technique
from stamen.techniques.catalog import StoredTechnique, file_catalog
from stamen.techniques.spec import TechniqueSpec
from stamen.techniques.validation import model_for, needed_nodes, validate_spec

if TYPE_CHECKING:
    from stamen.runtime import Runtime


def _stored(row: Technique) -> StoredTechnique:
    spec = TechniqueSpec.model_validate(row.spec)
    return StoredTechnique(row.id, row.slug, spec, "workspace", row.workspace_id)


def find_technique(
    session: Session, runtime: Runtime, workspace_id: str, reference: str, *, allow_slug: bool = True
) -> StoredTechnique:
    """A technique by `tech_…` id (or slug where the route accepts one); unknown or foreign → 404."""
    if not allow_slug and not reference.startswith("tech_"):
        raise InputValidation.field("technique_id", "must be an id starting with 'tech_' (slugs are not accepted here)")
    found = file_catalog(runtime.settings, runtime.models).find(reference)
    if found is not None and (allow_slug or found.technique_id == reference):
        return found
    column = Technique.id if reference.startswith("tech_") or not allow_slug else Technique.slug
    row = session.scalar(select(Technique).where(column == reference, Technique.workspace_id == workspace_id))
    if row is None:
        raise NotFound(f"technique {reference} not found")
    return _stored(row)


def list_techniques(
    session: Session, runtime: Runtime, workspace_id: str, *, query: str | None, cursor: str | None, limit: int
) -> tuple[list[StoredTechnique], str | None]:
    """File techniques (by slug) then the workspace's own (newest first); `query` matches name/slug/description."""
    rows = session.scalars(
        select(Technique).where(Technique.workspace_id == workspace_id).order_by(Technique.seq.desc())
    )
    everything = list(file_catalog(runtime.settings, runtime.models).techniques) + [_stored(r) for r in rows]
    if query:
        needle = query.lower()
        everything = [
            t
            for t in everything
            if needle in t.slug or needle in t.spec.name.lower() or needle in (t.spec.description or "").lower()
        ]
    position = decode_cursor(cursor, keys=("after",))
    if position is not None:
        ids = [t.technique_id for t in everything]
        if position["after"] not in ids:
            raise InputValidation.field("cursor", "is not a cursor returned by this endpoint")
        everything = everything[ids.index(position["after"]) + 1 :]
    page = everything[:limit]
    next_cursor = encode_cursor({"after": page[-1].technique_id}) if len(everything) > limit else None
    return page, next_cursor


def _slug_from(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:80]
    return slug or "technique"


def _check_slug(session: Session, runtime: Runtime, workspace_id: str, slug: str, own_id: str | None) -> None:
    taken = file_catalog(runtime.settings, runtime.models).find(slug)
    if taken is None:
        row = session.scalar(select(Technique).where(Technique.workspace_id == workspace_id, Technique.slug == slug))
        taken = _stored(row) if row is not None else None
    if taken is not None and taken.technique_id != own_id:
        raise InputValidation.many([FieldError("slug", f"is already used by technique {taken.technique_id}")])


def create_technique(runtime: Runtime, workspace_id: str, raw: Any) -> StoredTechnique:
    """Validate the whole spec, then save it for the workspace."""
    spec = validate_spec(raw, runtime.models)
    with runtime.db.session() as session:
        slug = spec.slug or _slug_from(spec.name)
        if spec.slug is None:
            base, counter = slug, 2
            while _slug_taken(session, runtime, workspace_id, slug):
                slug, counter = f"{base}-{counter}", counter + 1
        _check_slug(session, runtime, workspace_id, slug, None)
        spec = spec.model_copy(update={"slug": slug})
        now = now_ms()
        row = Technique(
            id=new_id("tech"),
            workspace_id=workspace_id,
            slug=slug,
            name=spec.name,
            description=spec.description,
            spec=spec.model_dump(mode="json", by_alias=True, exclude_none=True),
            created_at=now,
            updated_at=now,
        )
        session.add(row)
        session.flush()
        return _stored(row)


def _slug_taken(session: Session, runtime: Runtime, workspace_id: str, slug: str) -> bool:
    try:
        _check_slug(session, runtime, workspace_id, slug, None)
    except InputValidation:
        return True
    return False


def _own_row(session: Session, runtime: Runtime, workspace_id: str, reference: str) -> Technique:
    found = find_technique(session, runtime, workspace_id, reference)
    if found.origin != "workspace":
        raise Forbidden(f"technique {found.technique_id} is a {found.origin} technique and cannot be changed")
    row = session.scalar(select(Technique).where(Technique.id == found.technique_id))
    assert row is not None
    return row


def update_technique(runtime: Runtime, workspace_id: str, reference: str, raw: Any) -> StoredTechnique:
    """Replace a workspace technique's spec (validated completely); runs already started keep theirs."""
    spec = validate_spec(raw, runtime.models)
    with runtime.db.session() as session:
        row = _own_row(session, runtime, workspace_id, reference)
        slug = spec.slug or row.slug
        _check_slug(session, runtime, workspace_id, slug, row.id)
        spec = spec.model_copy(update={"slug": slug})
        row.slug, row.name, row.description = slug, spec.name, spec.description
        row.spec = spec.model_dump(mode="json", by_alias=True, exclude_none=True)
        row.updated_at = now_ms()
        return _stored(row)


def delete_technique(runtime: Runtime, workspace_id: str, reference: str) -> None:
    with runtime.db.session() as session:
        session.delete(_own_row(session, runtime, workspace_id, reference))


def run_cost(runtime: Runtime, technique: StoredTechnique, *, test_mode: bool) -> float:
    """USD per run with one value per input: the sum of its model nodes' prices (actions are free)."""
    if test_mode:
        return 0.0
    total = 0.0
    for node_id in needed_nodes(technique.spec):
        node = technique.spec.nodes[node_id]
        if node.is_action:
            continue
        model = model_for(node, runtime.models)
        if model is None and node.type is not None:
            catalog = runtime.models.catalog(test_mode=False, type=node.type)
            model = catalog[0] if catalog else None
        live = runtime.models.get(model.model_id, test_mode=False) if model is not None else None
        total += live.spec.price if live is not None else 0.0
    return round(total, 6)


def _io_view(item: Any) -> dict[str, Any]:
    """`TechniqueIO`; an output also keeps its `from` reference (Stamen)."""
    return item.model_dump(mode="json", by_alias=True, exclude_none=True)


def technique_view(runtime: Runtime, technique: StoredTechnique, *, test_mode: bool) -> dict[str, Any]:
    """The contract `Technique`, plus Stamen's `slug`, `source` and the authored `nodes`."""
    spec = technique.spec
    view: dict[str, Any] = {"technique_id": technique.technique_id, "name": spec.name}
    if spec.description:
        view["description"] = spec.description
    view["run_cost"] = run_cost(runtime, technique, test_mode=test_mode)
    view["inputs"] = [_io_view(item) for item in spec.inputs]
    view["outputs"] = [_io_view(item) for item in spec.outputs]
    view["slug"] = technique.slug
    view["source"] = technique.origin
    view["nodes"] = {
        node_id: node.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
        for node_id, node in spec.nodes.items()
    }
    return view
