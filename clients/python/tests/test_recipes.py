"""The RecipeClient against a real server: recipe types, recipes run by a Python worker,
watch, cancel, reprocess and bad input."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from brigade_client import (
    Client,
    ForcedNodes,
    InvalidArgument,
    JobStatus,
    NotFound,
    PreconditionFailed,
    RecipeClient,
    RecipeStatus,
    RecipeType,
    Service,
    Worker,
)
from conftest import wait_for

ADD_PARAMS = {
    "type": "object",
    "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
    "required": ["a", "b"],
}
ADD_RESULT = {"type": "object", "properties": {"sum": {"type": "integer"}}, "required": ["sum"]}


def add(params: dict[str, Any]) -> dict[str, Any]:
    return {"sum": int(params["a"]) + int(params["b"])}


def job_node(service: Service, deps: list[str], inputs: dict[str, Any]) -> dict[str, Any]:
    return {
        "dependencies": [{"name": d} for d in deps],
        "input": inputs,
        "node_type": {
            "node_type": "job",
            "job_type_name": service.name,
            "job_type_version": service.version,
            "job_type_revision": service.revision,
        },
    }


def chain_definition(service: Service) -> dict[str, Any]:
    """first = x + y; second = first + y; third = second + x."""
    recipe = {"type": "recipe"}
    return {
        "version": "7",
        "input": {
            "files": [],
            "json": [
                {"name": "x", "type": "integer", "required": True},
                {"name": "y", "type": "integer", "required": True},
            ],
        },
        "nodes": {
            "first": job_node(service, [], {"a": {**recipe, "input": "x"}, "b": {**recipe, "input": "y"}}),
            "second": job_node(
                service,
                ["first"],
                {"a": {"type": "dependency", "node": "first", "output": "sum"}, "b": {**recipe, "input": "y"}},
            ),
            "third": job_node(
                service,
                ["second"],
                {"a": {"type": "dependency", "node": "second", "output": "sum"}, "b": {**recipe, "input": "x"}},
            ),
        },
    }


@pytest.fixture()
def adder(client: Client) -> Service:
    return client.register_service(f"add-{uuid.uuid4().hex[:8]}", "adds two integers", ADD_PARAMS, ADD_RESULT)


@pytest.fixture()
def chain(recipes: RecipeClient, adder: Service) -> RecipeType:
    return recipes.create_recipe_type(f"Chain {uuid.uuid4().hex[:8]}", chain_definition(adder), description="x+y+y+x")


@pytest.fixture()
def worker(client: Client, adder: Service) -> Iterator[Worker]:
    w = Worker(client, adder.id, add, concurrency=2, poll_interval=0.2).start()
    yield w
    w.stop()


def test_recipe_type_round_trip(recipes: RecipeClient, chain: RecipeType, adder: Service) -> None:
    assert chain.revision_num == 1 and chain.summary.description == "x+y+y+x"
    assert [j.id for j in chain.job_types] == [adder.id]
    assert set(chain.definition["nodes"]) == {"first", "second", "third"}
    again = recipes.get_recipe_type(chain.name)
    assert again.id == chain.id and again.definition == chain.definition
    with pytest.raises(InvalidArgument) as taken:  # Scale answers a taken name with a 400
        recipes.create_recipe_type(chain.summary.title, chain_definition(adder))
    assert chain.name in str(taken.value)
    with pytest.raises(NotFound):
        recipes.get_recipe_type(f"no-such-{uuid.uuid4().hex[:8]}")


def test_a_recipe_runs_to_completed_with_a_python_worker(
    recipes: RecipeClient, client: Client, chain: RecipeType, worker: Worker
) -> None:
    recipe = recipes.create_recipe(chain.name, {"json": {"x": 1, "y": 2}}, configuration={"note": "py"})
    assert recipe.status is RecipeStatus.RUNNING
    assert recipe.input == {"files": {}, "json": {"x": 1, "y": 2}}
    assert recipe.configuration == {"note": "py"}
    assert recipe.counts.jobs_total == 3

    done = recipes.wait_recipe(recipe.id, timeout=30)
    assert done.status is RecipeStatus.COMPLETED, done
    assert done.completed is not None
    assert (done.counts.jobs_completed, done.counts.jobs_pending) == (3, 0)
    nodes = done.nodes
    assert {n.status for n in nodes.values()} == {"COMPLETED"}
    sums = {}
    for name, node in nodes.items():
        assert node.node_type == "job" and node.job_id is not None
        job = client.get_job(node.job_id)
        assert job.status is JobStatus.COMPLETED
        sums[name] = job.results
    assert sums == {"first": {"sum": 3}, "second": {"sum": 5}, "third": {"sum": 6}}
    assert nodes["third"].dependencies == ["second"]

    # The same recipe type by id, and the filters of list_recipes.
    by_id = recipes.create_recipe(chain.id, {"json": {"x": 10, "y": 20}}, revision=1)
    assert recipes.wait_recipe(by_id.id, timeout=30).status is RecipeStatus.COMPLETED
    listed = [r.id for r in recipes.list_recipes(recipe_type_names=[chain.name], order=["id"], page_size=1)]
    assert listed == [recipe.id, by_id.id]
    assert [r.id for r in recipes.list_recipes(recipe_ids=[by_id.id])] == [by_id.id]
    assert [r.id for r in recipes.list_recipes(recipe_type_ids=[chain.id], statuses=[RecipeStatus.RUNNING])] == []


def test_watch_then_cancel(recipes: RecipeClient, client: Client, chain: RecipeType) -> None:
    recipe = recipes.create_recipe(chain.name, {"json": {"x": 1, "y": 2}})
    seen: list[RecipeStatus] = []
    with recipes.watch_recipe(recipe.id, timeout=30) as stream:
        first = next(stream)
        assert first.id == recipe.id and first.status is RecipeStatus.RUNNING
        canceller = threading.Thread(target=recipes.cancel_recipe, args=(recipe.id,))
        canceller.start()
        seen = [r.status for r in stream]  # the stream ends once the recipe is CANCELED
        canceller.join()
    assert seen and seen[-1] is RecipeStatus.CANCELED, seen

    cancelled = recipes.get_recipe(recipe.id)
    assert cancelled.status is RecipeStatus.CANCELED and cancelled.completed is None
    job_id = cancelled.nodes["first"].job_id
    assert job_id is not None
    job = wait_for(lambda: client.get_job(job_id), lambda j: j.status is JobStatus.ERROR, 20, what="cancelled job")
    assert job.cancelled
    assert cancelled.nodes["second"].job_id is None
    assert recipes.wait_recipe(recipe.id, timeout=5).status is RecipeStatus.CANCELED


def test_reprocess_reuses_unchanged_nodes_and_reruns_forced_ones(
    recipes: RecipeClient, chain: RecipeType, worker: Worker
) -> None:
    old = recipes.wait_recipe(recipes.create_recipe(chain.name, {"json": {"x": 1, "y": 2}}).id, timeout=30)
    assert old.status is RecipeStatus.COMPLETED

    new = recipes.reprocess_recipe(old.id, ForcedNodes(nodes=["second"]), revision=1)
    assert new.id != old.id and new.superseded_recipe_id == old.id
    superseded = recipes.get_recipe(old.id)
    assert superseded.is_superseded and superseded.superseded_by_recipe_id == new.id
    done = recipes.wait_recipe(new.id, timeout=30)
    assert done.status is RecipeStatus.COMPLETED
    old_jobs = {name: n.job_id for name, n in old.nodes.items()}
    new_jobs = {name: n.job_id for name, n in done.nodes.items()}
    assert new_jobs["first"] == old_jobs["first"]  # unchanged, not forced: reused
    assert new_jobs["second"] != old_jobs["second"]  # forced
    assert new_jobs["third"] != old_jobs["third"]  # after a re-run node
    assert [r.id for r in recipes.list_recipes(recipe_type_names=[chain.name], is_superseded=False)] == [new.id]

    with pytest.raises(PreconditionFailed):
        recipes.reprocess_recipe(old.id)
    everything = recipes.wait_recipe(recipes.reprocess_recipe(new.id, ForcedNodes(all=True)).id, timeout=30)
    assert not set(n.job_id for n in everything.nodes.values()) & set(new_jobs.values())


def test_bad_input_names_the_problem(recipes: RecipeClient, chain: RecipeType) -> None:
    with pytest.raises(InvalidArgument) as info:
        recipes.create_recipe(chain.name, {"json": {"x": "one"}})
    problems = {v.field: v.description for v in info.value.violations}
    assert "PARAM_REQUIRED" in problems and "y" in problems["PARAM_REQUIRED"], info.value
    assert "MISMATCHED_PARAM_TYPE" in problems or "INVALID_JSON_TYPE" in problems, info.value
    with pytest.raises(TypeError):
        recipes.create_recipe(chain.name, {"json": {"x": 1, "y": 2}}, configuration=[])  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        recipes.create_recipe(f"no-such-{uuid.uuid4().hex[:8]}", {"json": {}})
    with pytest.raises(NotFound):
        recipes.create_recipe(chain.name, {"json": {"x": 1, "y": 2}}, revision=9)
    with pytest.raises(NotFound):
        recipes.get_recipe(10**9)
    with pytest.raises(TypeError):
        recipes.create_recipe(1.5, {"json": {}})  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument) as bad_type:
        recipes.create_recipe_type(f"Broken {uuid.uuid4().hex[:8]}", {"version": "7", "nodes": {"a": {}}})
    assert str(bad_type.value), bad_type.value


def test_wait_recipe_times_out(recipes: RecipeClient, chain: RecipeType) -> None:
    recipe = recipes.create_recipe(chain.name, {"json": {"x": 1, "y": 2}})  # no worker: stays RUNNING
    with pytest.raises(TimeoutError):
        recipes.wait_recipe(recipe.id, timeout=0.5)
    recipes.cancel_recipe(recipe.id)
