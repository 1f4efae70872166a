"""The estimate stage reuses a step only when nothing it depends on changed.

Each step declares the specification entries it reads (:attr:`Step.reads`); a changed
entry refits the steps that read it and those after them. These tests check both
halves of that promise on the session's small world:

- the declarations are complete: changing an entry and computing everything anew
  changes no table outside the steps that declare it (or follow them), and every data
  entry of the specification module is declared or named descriptive;
- reuse is exact: after a change, the tables of a run that reuses the other steps are
  the bytes of a run that computes every step.
"""

from __future__ import annotations

import filecmp
import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from analysis.estimate import specification, tables
from analysis.estimate.stage import STEP_STORE, STEPS, TABLES, run_estimates
from analysis.estimate.steps import (
    DESCRIPTIVE_ENTRIES,
    Step,
    StepStore,
    code_digest,
    runtime,
    specification_code,
    specification_entries,
    step_key,
)


def _affected(entry: str) -> set[str]:
    """The tables of the steps that read ``entry`` and of the steps after them."""
    steps = {s.name for s in STEPS if entry in s.reads}
    for step in STEPS:  # in order, so one pass follows the chain
        if steps & set(step.after):
            steps.add(step.name)
    return {t for s in STEPS if s.name in steps for t in s.tables}


def _changed(left: Path, right: Path) -> set[str]:
    return {t for t in TABLES if not filecmp.cmp(left / f"{t}.csv", right / f"{t}.csv", False)}


def test_every_data_entry_is_declared_or_descriptive() -> None:
    entries = set(specification_entries())
    declared = {name for step in STEPS for name in step.reads}
    assert declared <= entries, declared - entries
    assert not declared & DESCRIPTIVE_ENTRIES
    assert entries == declared | DESCRIPTIVE_ENTRIES, entries - declared - DESCRIPTIVE_ENTRIES


def test_steps_make_every_table_once() -> None:
    made = [t for step in STEPS for t in step.tables]
    assert sorted(made) == sorted(TABLES)
    names = [step.name for step in STEPS]
    for number, step in enumerate(STEPS):
        assert set(step.after) <= set(names[:number]), f"{step.name} runs before its inputs"


#: (entry, how to change it): each change must move at least one table.
CHANGES = {
    "SPEC[counterfactual_targets_pct]": lambda mp: mp.setitem(
        specification.SPEC, "counterfactual_targets_pct", {"30%": 30.0}
    ),
    "SPEC[premium_year_by_country]": lambda mp: mp.setitem(
        specification.SPEC, "premium_year_by_country", 2022
    ),
    "MOBILITY_MODEL[emigration_controls]": lambda mp: mp.setitem(
        specification.MOBILITY_MODEL, "emigration_controls", []
    ),
    "MOBILITY_MODEL[return_controls]": lambda mp: mp.setitem(
        specification.MOBILITY_MODEL, "return_controls", ["year"]
    ),
    "MOBILITY_MODEL[methods]": lambda mp: mp.setitem(
        specification.MOBILITY_MODEL, "methods", ["naive"]
    ),
    "MOBILITY_MODEL[destination]": lambda mp: mp.setitem(
        specification.MOBILITY_MODEL, "destination", "CAN"
    ),
    "EMIGRATION_LOGIT[regressors]": lambda mp: mp.setitem(
        specification.EMIGRATION_LOGIT, "regressors", ["pay_gain"]
    ),
    "EMIGRATION_LOGIT[categorical]": lambda mp: mp.setitem(
        specification.EMIGRATION_LOGIT, "categorical", []
    ),
    "PREMIUM_MODEL": lambda mp: [
        mp.setattr(module, "PREMIUM_MODEL", replace(specification.PREMIUM_MODEL, cluster="rcid"))
        for module in (specification, tables)
    ],
}


def test_every_declared_entry_is_changed_below() -> None:
    assert set(CHANGES) == {name for step in STEPS for name in step.reads}


@pytest.mark.parametrize("entry", sorted(CHANGES))
def test_a_changed_entry_moves_only_the_tables_declared_to_read_it(
    entry: str, pipeline: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    CHANGES[entry](monkeypatch)
    run_estimates(pipeline / "processed", tmp_path, log=lambda _: None, reuse=False)
    changed = _changed(pipeline / "estimates", tmp_path)
    assert changed, f"changing {entry} moved no table: the change tests nothing"
    assert changed <= _affected(entry), f"{entry} moved {sorted(changed - _affected(entry))}"


def test_reuse_refits_only_the_steps_of_a_changed_entry(
    pipeline: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new counterfactual target: only the mobility step runs, and the tables equal a
    run that computes every step."""
    incremental, anew = tmp_path / "incremental", tmp_path / "anew"
    shutil.copytree(pipeline / "estimates", incremental)
    assert (incremental / STEP_STORE / "premiums.pickle").is_file()
    CHANGES["SPEC[counterfactual_targets_pct]"](monkeypatch)
    lines: list[str] = []
    run_estimates(pipeline / "processed", incremental, log=lines.append)
    computed = [line for line in lines if line.endswith(" s") and "[" in line]
    reused = [line for line in lines if line.endswith("unchanged, reused")]
    assert len(computed) == 1 and "counterfactuals" in computed[0], lines
    assert len(reused) == len(STEPS) - 1, lines
    run_estimates(pipeline / "processed", anew, log=lambda _: None, reuse=False)
    assert _changed(incremental, anew) == set()
    assert _changed(pipeline / "estimates", incremental) == {"counterfactual"}
    manifests = [
        json.loads((d / "estimates_manifest.json").read_text()) for d in (incremental, anew)
    ]
    assert manifests[0]["spec"]["counterfactual_targets_pct"] == {"30%": 30.0}
    for m in manifests:
        m.pop("panel")
    assert manifests[0] == manifests[1]


def test_a_damaged_store_is_computed_again(pipeline: Path, tmp_path: Path) -> None:
    out = tmp_path / "estimates"
    shutil.copytree(pipeline / "estimates", out)
    (out / STEP_STORE / "gravity.pickle").write_bytes(b"not a pickle")
    (out / STEP_STORE / "workforce.pickle").unlink()
    lines: list[str] = []
    run_estimates(pipeline / "processed", out, log=lines.append)
    computed = [line for line in lines if line.endswith(" s") and "[" in line]
    assert len(computed) == 2 and any("gravity" in line for line in computed), lines
    assert _changed(pipeline / "estimates", out) == set()


def _key(step: Step, **change: object) -> str:
    base: dict[str, object] = {
        "panel_sha256": "a" * 64,
        "code": "c",
        "environment": {"numpy": "2.0"},
        "entries": {"X": 1, "Y": [1, 2]},
        "done": {"first": "k1"},
    }
    return step_key(step, **{**base, **change})  # type: ignore[arg-type]


def test_the_key_follows_every_input_and_only_the_declared_entries() -> None:
    step = Step("s", "a step", ("t",), lambda data, done: {}, reads=("X",), after=("first",))
    key = _key(step)
    assert key == _key(step)
    assert key == _key(step, entries={"X": 1, "Y": [3]})  # Y is not read
    for change in (
        {"panel_sha256": "b" * 64},
        {"code": "d"},
        {"environment": {"numpy": "2.1"}},
        {"entries": {"X": 2, "Y": [1, 2]}},
        {"done": {"first": "k2"}},
    ):
        assert _key(step, **change) != key, change
    with pytest.raises(KeyError):
        _key(step, entries={"Y": 1})


def test_specification_code_leaves_out_the_data_entries_only(tmp_path: Path) -> None:
    source = Path(specification.__file__).read_text()
    assert "counterfactual_targets_pct" not in specification_code()
    assert "def fixed_effects_of" in specification_code()
    edited = tmp_path / "specification.py"
    edited.write_text(source.replace('"destination": "USA"', '"destination": "CAN"'))
    assert specification_code(edited) == specification_code()
    edited.write_text(source.replace("pooled: bool) -> list[str]:", "pooled: bool) -> list:"))
    assert specification_code(edited) != specification_code()
    assert len(code_digest()) == 64 and runtime()["python"]


def test_store_misses_on_another_key(tmp_path: Path) -> None:
    store = StepStore(tmp_path)
    assert store.load("s", "k") is None
    store.save("s", "k", {"value": [1.0, 2.0]})
    assert store.load("s", "k") == {"value": [1.0, 2.0]}
    assert store.load("s", "other") is None
