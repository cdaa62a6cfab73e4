"""The definitions graph and runner over registered kinds, without the segment or tag code."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from segflow.definitions import kinds
from segflow.definitions.graph import GraphNode, build_graph
from segflow.definitions.kinds import DefinitionKind, register_kind
from segflow.definitions.runner import RefreshJob, RefreshOutcome, run_refresh
from segflow.definitions.runs import list_runs
from segflow.segments.definition import DefinitionError, SegmentDefinition
from segflow.state.store import StateStore

T = datetime(2026, 3, 1, tzinfo=UTC)


@dataclass
class Ctx:
    """The part of a project context the runner itself uses."""

    state: StateStore
    root: Path = Path(".")


@dataclass(frozen=True)
class Model:
    reads: tuple[tuple[str, str], ...] = ()
    fails: bool = False


def _model_nodes(models: Mapping[str, Model]) -> list[GraphNode]:
    return [GraphNode("model", n, frozenset(m.reads), refreshable=True, file=f"models/{n}.yaml")
            for n, m in models.items()]


@pytest.fixture
def refreshed() -> Iterator[list[str]]:
    """A ``model`` kind registered for the test; the list of models its refresh ran."""
    ran: list[str] = []

    def refresh(job: RefreshJob) -> RefreshOutcome:
        ran.append(job.name)
        if job.definition.fails:
            raise RuntimeError(f"{job.name} does not converge\nstack...")
        return RefreshOutcome(members=len(job.name))

    saved = dict(kinds._KINDS)
    register_kind(DefinitionKind("model", nodes=_model_nodes, refresh=refresh))
    yield ran
    kinds._KINDS.clear()
    kinds._KINDS.update(saved)


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[Ctx]:
    store = StateStore.open(f"sqlite:///{tmp_path / 'state.db'}")
    yield Ctx(store)
    store.close()


def test_segments_read_the_traits_and_tags_their_rules_name() -> None:
    segments = {"heavy": SegmentDefinition.from_body("heavy", {"type": "dynamic", "rule": {"trait": "views", "gte": 2}},
                                              "segments/heavy.yaml"),
                "heavy_vip": SegmentDefinition.from_body(
                    "heavy_vip", {"type": "dynamic", "rule": {"all": [{"segment": "heavy"}, {"tag": "crm/vip"}]}}, None)}
    graph = build_graph({"segment": segments, "trait": {"views": None}})
    assert graph.upstream[("segment", "heavy")] == {("trait", "views")}
    # crm/vip is not defined here: not an edge
    assert graph.upstream[("segment", "heavy_vip")] == {("segment", "heavy")}
    assert graph.order() == [("trait", "views"), ("segment", "heavy"), ("segment", "heavy_vip")]
    assert graph.refreshable == {("segment", "heavy"), ("segment", "heavy_vip")}


def test_a_registered_kind_is_ordered_with_the_others(refreshed: list[str]) -> None:
    segments = {"buyers": SegmentDefinition.from_body("buyers", {"type": "dynamic", "rule": {"attr": "city", "eq": "x"}}, None)}
    models = {"churn": Model(reads=(("segment", "buyers"),)), "ltv": Model(reads=(("model", "churn"),))}
    graph = build_graph({"segment": segments, "model": models})
    assert graph.order() == [("segment", "buyers"), ("model", "churn"), ("model", "ltv")]
    assert graph.downstream({("segment", "buyers")}) == {("segment", "buyers"), ("model", "churn"), ("model", "ltv")}


def test_a_cycle_names_the_file_of_a_definition_in_it(refreshed: list[str]) -> None:
    models = {"a": Model(reads=(("model", "b"),)), "b": Model(reads=(("model", "a"),))}
    with pytest.raises(DefinitionError) as info:
        build_graph({"model": models}).order()
    assert info.value.code == "definition_cycle"
    assert info.value.message.startswith("models/")
    assert "definitions refer to each other in a cycle" in info.value.message


def test_the_runner_skips_what_reads_a_failed_definition_and_runs_the_rest(ctx: Ctx, refreshed: list[str]) -> None:
    models = {"base": (1, Model(fails=True)), "reader": (2, Model(reads=(("model", "base"),))),
              "other": (None, Model())}
    results = run_refresh(ctx, None, definitions={"model": models}, as_of=T, trigger="schedule",  # type: ignore[arg-type]
                          worker="w")
    by_name = {r.name: r for r in results}
    assert (by_name["base"].status, by_name["base"].error) == ("failed", "base does not converge")
    assert (by_name["reader"].status, by_name["reader"].error) == (
        "skipped", "not refreshed: it reads model 'base', whose refresh failed")
    assert (by_name["other"].status, by_name["other"].members) == ("ok", 5)
    assert sorted(refreshed) == ["base", "other"]
    runs = {r.name: r for r in list_runs(ctx.state, kind="model")}
    assert {n: (r.status, r.version, r.trigger, r.worker) for n, r in runs.items()} == {
        "base": ("failed", 1, "schedule", "w"), "reader": ("skipped", 2, "schedule", "w"),
        "other": ("ok", None, "schedule", "w")}


def test_upstream_adds_what_the_wanted_ones_read(ctx: Ctx, refreshed: list[str]) -> None:
    models: dict[str, Any] = {"a": (None, Model()), "b": (None, Model(reads=(("model", "a"),))),
                              "c": (None, Model(reads=(("model", "b"),))), "d": (None, Model())}
    run_refresh(ctx, {("model", "c")}, definitions={"model": models}, as_of=T)  # type: ignore[arg-type]
    assert refreshed == ["c"]
    refreshed.clear()
    run_refresh(ctx, {("model", "c")}, definitions={"model": models}, as_of=T, upstream=True)  # type: ignore[arg-type]
    assert refreshed == ["a", "b", "c"]
