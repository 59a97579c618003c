"""Plain data classes for recipe types and recipes, decoded from the wire messages."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from brigade_client._proto.brigade.recipetypes.v1 import recipetypes_pb2 as pb
from brigade_client.models import JSONDict, _json, _time

__all__ = [
    "ForcedNodes",
    "JobTypeInfo",
    "Recipe",
    "RecipeCounts",
    "RecipeNode",
    "RecipeStatus",
    "RecipeType",
    "RecipeTypeSummary",
]


class RecipeStatus(str, enum.Enum):
    """A recipe's status, as the REST API spells it."""

    UNSPECIFIED = "UNSPECIFIED"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELED = "CANCELED"

    @property
    def is_final(self) -> bool:
        """COMPLETED or CANCELED: nothing moves it on. (A FAILED recipe recovers when its job is retried.)"""
        return self in (RecipeStatus.COMPLETED, RecipeStatus.CANCELED)

    @classmethod
    def from_pb(cls, value: int) -> RecipeStatus:
        return _STATUS_FROM_PB.get(int(value), cls.UNSPECIFIED)

    def to_pb(self) -> int:
        for number, status in _STATUS_FROM_PB.items():
            if status is self:
                return number
        raise ValueError(f"not a recipe status to filter by: {self}")

    def __str__(self) -> str:
        return self.value


_STATUS_FROM_PB: dict[int, RecipeStatus] = {
    int(pb.RECIPE_STATUS_RUNNING): RecipeStatus.RUNNING,
    int(pb.RECIPE_STATUS_COMPLETED): RecipeStatus.COMPLETED,
    int(pb.RECIPE_STATUS_FAILED): RecipeStatus.FAILED,
    int(pb.RECIPE_STATUS_CANCELED): RecipeStatus.CANCELED,
}


@dataclass(frozen=True)
class RecipeTypeSummary:
    """A recipe type's name, title and current revision."""

    id: int
    name: str
    title: str
    description: str | None
    is_active: bool
    is_system: bool
    revision_num: int
    created: datetime | None
    deprecated: datetime | None
    last_modified: datetime | None

    @classmethod
    def from_pb(cls, s: pb.RecipeTypeSummary) -> RecipeTypeSummary:
        return cls(
            id=s.id,
            name=s.name,
            title=s.title,
            description=s.description if s.HasField("description") else None,
            is_active=s.is_active,
            is_system=s.is_system,
            revision_num=s.revision_num,
            created=_time(s, "created"),
            deprecated=_time(s, "deprecated"),
            last_modified=_time(s, "last_modified"),
        )


@dataclass(frozen=True)
class JobTypeInfo:
    """A job type (service) a recipe type's nodes run; ``id`` is the job-queue service id."""

    id: str
    name: str
    version: str
    revision_num: int
    description: str

    @classmethod
    def from_pb(cls, j: pb.JobTypeDetails) -> JobTypeInfo:
        return cls(id=j.id, name=j.name, version=j.version, revision_num=j.revision_num, description=j.description)


@dataclass(frozen=True)
class RecipeType:
    """A recipe type at its latest revision: the normalised definition and what it uses."""

    summary: RecipeTypeSummary
    definition: JSONDict
    job_types: list[JobTypeInfo]
    sub_recipe_types: list[RecipeTypeSummary]
    super_recipe_types: list[RecipeTypeSummary]

    @property
    def id(self) -> int:
        return self.summary.id

    @property
    def name(self) -> str:
        return self.summary.name

    @property
    def revision_num(self) -> int:
        return self.summary.revision_num

    @classmethod
    def from_pb(cls, d: pb.RecipeTypeDetails) -> RecipeType:
        return cls(
            summary=RecipeTypeSummary.from_pb(d.summary),
            definition=_json(d.definition_json),
            job_types=[JobTypeInfo.from_pb(j) for j in d.job_types],
            sub_recipe_types=[RecipeTypeSummary.from_pb(s) for s in d.sub_recipe_types],
            super_recipe_types=[RecipeTypeSummary.from_pb(s) for s in d.super_recipe_types],
        )


@dataclass(frozen=True)
class RecipeCounts:
    """How many of a recipe's jobs (its sub-recipes' included) are in each state."""

    jobs_total: int = 0
    jobs_pending: int = 0
    jobs_blocked: int = 0
    jobs_queued: int = 0
    jobs_running: int = 0
    jobs_failed: int = 0
    jobs_completed: int = 0
    jobs_canceled: int = 0
    sub_recipes_total: int = 0
    sub_recipes_completed: int = 0

    @classmethod
    def from_pb(cls, c: pb.RecipeCounts) -> RecipeCounts:
        return cls(**{name: getattr(c, name) for name in cls.__dataclass_fields__})


@dataclass(frozen=True)
class RecipeNode:
    """One node of a recipe: its kind (``job``, ``condition``, ``recipe``) and how far it got.

    ``status`` is the node state (PENDING, BLOCKED, QUEUED, RUNNING, COMPLETED, FAILED,
    CANCELED) for job nodes; ``job_id`` its job once it runs; ``recipe_id`` the child
    recipe of a sub-recipe node; ``details`` the node's whole ``node_type`` object.
    """

    name: str
    node_type: str
    dependencies: list[str]
    status: str | None
    job_id: str | None
    recipe_id: int | None
    details: JSONDict

    @classmethod
    def from_json(cls, name: str, node: JSONDict) -> RecipeNode:
        node_type = node.get("node_type") or {}
        recipe_id = node_type.get("recipe_id")
        return cls(
            name=name,
            node_type=str(node_type.get("node_type", "")),
            dependencies=[str(d.get("name")) for d in node.get("dependencies") or []],
            status=node_type.get("status"),
            job_id=node_type.get("job_id"),
            recipe_id=int(recipe_id) if recipe_id is not None else None,
            details=dict(node_type),
        )


@dataclass(frozen=True)
class Recipe:
    """One run of a recipe type revision.

    ``input`` is in Scale's data shape (``{"files": {name: [uri, ...]}, "json": {name: value}}``),
    ``details`` Scale's recipe instance JSON, ``nodes`` the same by node name.
    """

    id: int
    recipe_type: RecipeTypeSummary
    recipe_type_rev_id: int
    revision_num: int
    status: RecipeStatus
    counts: RecipeCounts
    input: JSONDict
    configuration: JSONDict
    details: JSONDict
    parent_recipe_id: int | None
    is_superseded: bool
    superseded_recipe_id: int | None
    superseded_by_recipe_id: int | None
    created: datetime | None
    started: datetime | None
    completed: datetime | None
    ended: datetime | None
    superseded: datetime | None
    last_modified: datetime | None
    job_types: list[JobTypeInfo] = field(default_factory=list)
    sub_recipe_types: list[RecipeTypeSummary] = field(default_factory=list)

    @property
    def nodes(self) -> dict[str, RecipeNode]:
        nodes: dict[str, Any] = self.details.get("nodes") or {}
        return {name: RecipeNode.from_json(name, node) for name, node in nodes.items()}

    @classmethod
    def from_pb(cls, r: pb.Recipe) -> Recipe:
        def optional(name: str) -> int | None:
            return int(getattr(r, name)) if r.HasField(name) else None

        return cls(
            id=r.id,
            recipe_type=RecipeTypeSummary.from_pb(r.recipe_type),
            recipe_type_rev_id=r.recipe_type_rev_id,
            revision_num=r.revision_num,
            status=RecipeStatus.from_pb(r.status),
            counts=RecipeCounts.from_pb(r.counts),
            input=_json(r.input_json),
            configuration=_json(r.configuration_json),
            details=_json(r.details_json),
            parent_recipe_id=optional("parent_recipe_id"),
            is_superseded=r.is_superseded,
            superseded_recipe_id=optional("superseded_recipe_id"),
            superseded_by_recipe_id=optional("superseded_by_recipe_id"),
            created=_time(r, "created"),
            started=_time(r, "started"),
            completed=_time(r, "completed"),
            ended=_time(r, "ended"),
            superseded=_time(r, "superseded"),
            last_modified=_time(r, "last_modified"),
            job_types=[JobTypeInfo.from_pb(j) for j in r.job_types],
            sub_recipe_types=[RecipeTypeSummary.from_pb(s) for s in r.sub_recipe_types],
        )


@dataclass(frozen=True)
class ForcedNodes:
    """Which nodes a reprocess runs again even if unchanged (Scale's ``forced_nodes``).

    ``all``: every node; ``nodes``: these by name; ``sub_recipes``: what to force
    inside a sub-recipe node's child, by node name.
    """

    all: bool = False
    nodes: list[str] = field(default_factory=list)
    sub_recipes: dict[str, ForcedNodes] = field(default_factory=dict)

    def to_pb(self) -> pb.ForcedNodes:
        message = pb.ForcedNodes(all=self.all, nodes=list(self.nodes))
        for name, inner in self.sub_recipes.items():
            message.sub_recipes[name].CopyFrom(inner.to_pb())
        return message

