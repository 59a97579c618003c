"""The Brigade recipe client: recipe types and recipes over the recipe-types gRPC service."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from brigade_client._connection import _Connection, _dumps, _Stream
from brigade_client._proto.brigade.recipetypes.v1 import recipetypes_pb2 as pb
from brigade_client._proto.brigade.recipetypes.v1 import recipetypes_pb2_grpc as pb_grpc
from brigade_client.recipe_models import ForcedNodes, Recipe, RecipeStatus, RecipeType

__all__ = ["RecipeClient", "RecipeStream"]


class RecipeStream(_Stream):
    """An iterator over a recipe's states from WatchRecipe; ``cancel()`` ends it from any thread."""

    def __iter__(self) -> Iterator[Recipe]:
        return self

    def __next__(self) -> Recipe:
        return Recipe.from_pb(self._receive().recipe)


class RecipeClient(_Connection):
    """A connection to a Brigade recipe-types gRPC endpoint (``brigade`` prints it as
    "recipe-types gRPC"). Thread-safe.

    The arguments, the connect wait, the deadlines and the retries of read-only
    calls are those of :class:`brigade_client.Client`.
    """

    _stub_factory = pb_grpc.RecipeTypesStub

    # ------------------------------------------------------------ recipe types

    def create_recipe_type(
        self, title: str, definition: Mapping[str, Any], *, description: str | None = None
    ) -> RecipeType:
        """Creates a recipe type (its name is the title's slug) from a Scale v6 definition.

        Raises :class:`InvalidArgument` naming each problem when the definition does
        not check out, :class:`AlreadyExists` when the name is taken.
        """
        request = pb.CreateRecipeTypeRequest(title=title, definition_json=_dumps(definition, "definition"))
        if description is not None:
            request.description = description
        return RecipeType.from_pb(self._unary("CreateRecipeType", request).recipe_type)

    def get_recipe_type(self, name: str) -> RecipeType:
        """The recipe type at its latest revision; :class:`NotFound` if there is none."""
        request = pb.GetRecipeTypeRequest(name=name)
        return RecipeType.from_pb(self._unary("GetRecipeType", request, idempotent=True).recipe_type)

    # ----------------------------------------------------------------- recipes

    def create_recipe(
        self,
        recipe_type: int | str,
        input: Mapping[str, Any],
        *,
        revision: int | None = None,
        configuration: Mapping[str, Any] | None = None,
    ) -> Recipe:
        """Runs a recipe type, given by id (an int) or name, at ``revision`` (None: the latest).

        ``input`` is in Scale's data shape: ``{"files": {name: [uri, ...]}, "json": {name: value}}``.
        It is checked against the recipe type's input interface: a problem raises
        :class:`InvalidArgument` whose ``violations`` name each one.
        """
        request = pb.CreateRecipeRequest(input_json=_dumps(input, "input"))
        if isinstance(recipe_type, bool) or not isinstance(recipe_type, (int, str)):
            raise TypeError(f"recipe_type must be an id (int) or a name (str), not {type(recipe_type).__name__}")
        if isinstance(recipe_type, int):
            request.recipe_type_id = recipe_type
        else:
            request.recipe_type_name = recipe_type
        if revision is not None:
            request.revision_num = revision
        if configuration is not None:
            request.configuration_json = _dumps(configuration, "configuration")
        return Recipe.from_pb(self._unary("CreateRecipe", request).recipe)

    def get_recipe(self, recipe_id: int) -> Recipe:
        return Recipe.from_pb(self._unary("GetRecipe", pb.GetRecipeRequest(id=recipe_id), idempotent=True).recipe)

    def list_recipes(
        self,
        *,
        recipe_type_ids: Sequence[int] = (),
        recipe_type_names: Sequence[str] = (),
        statuses: Sequence[RecipeStatus] = (),
        started: datetime | None = None,
        ended: datetime | None = None,
        is_superseded: bool | None = None,
        is_completed: bool | None = None,
        recipe_ids: Sequence[int] = (),
        root_recipe_ids: Sequence[int] = (),
        order: Sequence[str] = (),
        page_size: int = 100,
    ) -> Iterator[Recipe]:
        """Every recipe that matches all the filters given, page by page.

        ``started``/``ended``: created at or after / at or before. ``root_recipe_ids``:
        only sub-recipes of these. ``order``: ``id``, ``created``, ``last_modified``, each
        optionally prefixed with ``-`` (default ``-last_modified``).
        """
        request = pb.ListRecipesRequest(
            recipe_type_ids=list(recipe_type_ids),
            recipe_type_names=list(recipe_type_names),
            # The stubs type the enum field by its wrapper class; the numbers are what it holds.
            statuses=cast(Any, [RecipeStatus(s).to_pb() for s in statuses]),
            recipe_ids=list(recipe_ids),
            root_recipe_ids=list(root_recipe_ids),
            order=list(order),
            limit=page_size,
        )
        if started is not None:
            request.started.FromDatetime(started)
        if ended is not None:
            request.ended.FromDatetime(ended)
        if is_superseded is not None:
            request.is_superseded = is_superseded
        if is_completed is not None:
            request.is_completed = is_completed
        offset = 0
        while True:
            request.offset = offset
            response = self._unary("ListRecipes", request, idempotent=True)
            for r in response.recipes:
                yield Recipe.from_pb(r)
            offset += len(response.recipes)
            if not response.recipes or offset >= response.count:
                return

    def cancel_recipe(self, recipe_id: int) -> Recipe:
        """Cancels the recipe, its REGISTERED and WORKING jobs and its sub-recipes."""
        return Recipe.from_pb(self._unary("CancelRecipe", pb.CancelRecipeRequest(id=recipe_id)).recipe)

    def reprocess_recipe(
        self,
        recipe_id: int,
        forced_nodes: ForcedNodes | None = None,
        *,
        revision: int | None = None,
    ) -> Recipe:
        """Starts a new recipe that supersedes this one and returns it.

        Nodes that are unchanged (between the old revision and ``revision``, None: the
        latest), not forced and finished well reuse the old results; the rest run again.
        Raises :class:`PreconditionFailed` when the recipe is already superseded.
        """
        request = pb.ReprocessRecipeRequest(id=recipe_id)
        if forced_nodes is not None:
            request.forced_nodes.CopyFrom(forced_nodes.to_pb())
        if revision is not None:
            request.revision_num = revision
        return Recipe.from_pb(self._unary("ReprocessRecipe", request).recipe)

    def watch_recipe(self, recipe_id: int, *, timeout: float | None = None) -> RecipeStream:
        """Streams the recipe: now, then after every node change; ends once COMPLETED or CANCELED.

        After ``timeout`` seconds the stream raises :class:`Unavailable` (DEADLINE_EXCEEDED).
        """
        return RecipeStream(self._stub.WatchRecipe(pb.WatchRecipeRequest(id=recipe_id), timeout=timeout))

    def wait_recipe(self, recipe_id: int, *, timeout: float | None = None, stop_on_failure: bool = True) -> Recipe:
        """Blocks until the recipe is COMPLETED or CANCELED (or FAILED, with ``stop_on_failure``).

        Raises ``TimeoutError`` after ``timeout`` seconds. Watches again after a lost stream.
        """

        def done(recipe: Recipe) -> bool:
            return recipe.status.is_final or (stop_on_failure and recipe.status is RecipeStatus.FAILED)

        def watch(remaining: float | None) -> RecipeStream:
            return self.watch_recipe(recipe_id, timeout=remaining)

        return self._follow(f"recipe {recipe_id}", watch, done, timeout)
