"""Hostile input through the command line: bad arguments, paths, manifests, output sets.

Every case runs ``python -m analysis ...`` as a user would (:mod:`hostile`) and asserts
the exit status, that no traceback escaped, that the message names the file, folder or
argument at fault, and, where a stage ran, that nothing half-written is accepted
downstream. The reader's own cases (encodings, truncations, types, ranges) are in
``test_reader_hostile.py``; country names in ``test_countries.py``; interrupted runs in
``test_interrupted_runs.py``; byte-level fuzzing in ``test_fuzz_delivery.py``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from delivery_factory import clean_tables, write_delivery
from hostile import assert_user_error, run_cli

from analysis.clean import clean_delivery


def ledger_balances(ledger: pd.DataFrame) -> bool:
    """Every step's rows out are its rows in less the rows it removed."""
    for _, step in ledger.groupby(["stage", "table", "step"], sort=False):
        removed = step.loc[step["action"] == "removed", "rows_affected"].sum()
        first = step.iloc[0]
        if first["rows_in"] - removed != first["rows_out"]:
            return False
    return True


@pytest.fixture
def delivery(tmp_path) -> Path:
    return write_delivery(tmp_path / "delivery")


@pytest.fixture
def processed(pipeline, tmp_path) -> Path:
    """A copy of a whole clean output, to break."""
    return Path(shutil.copytree(pipeline / "processed", tmp_path / "processed"))


@pytest.fixture
def estimates(pipeline, tmp_path) -> Path:
    """A copy of a whole estimates folder, to break."""
    return Path(shutil.copytree(pipeline / "estimates", tmp_path / "estimates"))


# --------------------------------------------------------------------- arguments
@pytest.mark.parametrize(
    ("argv", "names"),
    [
        (["synth", "--scale", "0"], ["--scale", "above 0"]),
        (["synth", "--scale", "-1"], ["--scale"]),
        (["synth", "--scale", "nan"], ["--scale", "finite"]),
        (["synth", "--scale", "inf"], ["--scale", "finite"]),
        (["synth", "--scale", "big"], ["--scale", "not a number"]),
        (["synth", "--seed", "-1"], ["--seed"]),
        (["synth", "--seed", "1.5"], ["--seed", "whole number"]),
        (["synth", "--format", "xlsx"], ["--format"]),
        (["all", "--scale", "0"], ["--scale"]),
        (["clean", "--years", "1800", "2024"], ["--years", "1950"]),
        (["clean", "--years", "2010"], ["--years"]),
        (["clean", "--engine", "polars"], ["--engine"]),
        (["calibrate", "--max-iterations", "0"], ["--max-iterations"]),
        (["calibrate", "--params", "no/such/params.toml"], ["--params", "no such file"]),
        (["estimat"], ["invalid choice"]),
    ],
)
def test_bad_argument_is_one_usage_error(argv, names):
    run = run_cli(*argv)
    assert_user_error(run, *names, status=2)
    # the usage, then one line of error
    assert run.err.startswith("usage:") and len(run.err.splitlines()) <= 6, run.err
    assert len([line for line in run.err.splitlines() if "error:" in line]) == 1, run.err


def test_reversed_years_are_refused_before_reading(tmp_path):
    run = run_cli("clean", "--delivery", tmp_path / "absent", "--out", tmp_path / "o",
                  "--years", "2024", "2010")  # fmt: skip
    assert_user_error(run, "first <= last", "(2024, 2010)")
    assert not (tmp_path / "o").exists()


def test_missing_delivery_folder_is_named(tmp_path):
    run = run_cli("clean", "--delivery", tmp_path / "absent", "--out", tmp_path / "o")
    assert_user_error(run, "delivery folder not found", str(tmp_path / "absent"))


# --------------------------------------------------------------------- output paths
def test_out_that_is_a_file_is_refused(delivery, tmp_path):
    target = tmp_path / "a_file"
    target.write_text("keep me")
    for argv in (
        ["clean", "--delivery", delivery, "--out", target],
        ["synth", "--out", target, "--scale", "0.01"],
        ["inspect", "--delivery", delivery, "--out", target],
    ):
        assert_user_error(run_cli(*argv), "is a file", str(target))
    assert target.read_text() == "keep me"


@pytest.mark.parametrize("inside", [".", "individual_positions", "sub/folder"])
def test_out_inside_the_delivery_is_refused(delivery, inside):
    before = sorted(p.relative_to(delivery) for p in delivery.rglob("*"))
    for stage in ("clean", "inspect"):
        run = run_cli(stage, "--delivery", delivery, "--out", delivery / inside)
        assert_user_error(run, "inside the delivery folder")
    assert sorted(p.relative_to(delivery) for p in delivery.rglob("*")) == before


def test_estimate_out_inside_the_panel_folder_is_refused(processed):
    before = sorted(p.name for p in processed.iterdir())
    run = run_cli("estimate", "--panel", processed, "--out", processed / "estimates")
    assert_user_error(run, "inside the panel folder")
    assert sorted(p.name for p in processed.iterdir()) == before


def test_report_out_inside_the_estimates_is_refused(estimates, processed):
    run = run_cli("report", "--estimates", estimates, "--processed", processed,
                  "--out", estimates / "reports")  # fmt: skip
    assert_user_error(run, "inside the estimates folder")


def test_validate_out_that_names_a_file_is_refused(estimates, tmp_path):
    run = run_cli("validate", "--estimates", estimates, "--out", tmp_path / "validation.csv")
    assert_user_error(run, "names a file", "validation.csv")
    assert not (tmp_path / "validation.csv").exists()


def test_validate_out_inside_the_estimates_is_refused(estimates):
    run = run_cli("validate", "--estimates", estimates, "--out", estimates / "validation")
    assert_user_error(run, "inside the estimates folder")
    assert not (estimates / "validation").exists()


# --------------------------------------------------------------------- delivery manifests
@pytest.mark.parametrize(
    ("content", "names"),
    [
        ("{not json", ["manifest.json", "not valid JSON"]),
        ('["a", "list"]', ["manifest.json", "not a JSON object"]),
        ("\xff\xfe garbage", ["manifest.json", "not valid JSON"]),
    ],
)
def test_bad_delivery_manifest_is_named(delivery, tmp_path, content, names):
    (delivery / "manifest.json").write_bytes(content.encode("latin-1"))
    run = run_cli("clean", "--delivery", delivery, "--out", tmp_path / "out")
    assert_user_error(run, *names)
    assert not (tmp_path / "out" / "manifest.json").exists()


def test_part_file_changed_after_the_delivery_manifest_is_named(delivery, tmp_path):
    from analysis.io import sha256_file

    files = sorted(p for p in delivery.rglob("*.parquet"))
    manifest = {
        "files": [
            {"path": p.relative_to(delivery).as_posix(), "sha256": sha256_file(p)} for p in files
        ]
    }
    (delivery / "manifest.json").write_text(json.dumps(manifest))
    ok = run_cli("clean", "--delivery", delivery, "--out", tmp_path / "ok")
    assert ok.status == 0, ok.err
    recorded = json.loads((tmp_path / "ok" / "manifest.json").read_text())["delivery"]
    assert recorded["checksums"]["delivery_manifest"]["verified"] == len(files)
    positions = delivery / "individual_positions" / "individual_positions_0000_part_00.parquet"
    frame = pd.read_parquet(positions)
    frame.loc[0, "salary"] = 1.0
    frame.to_parquet(positions, index=False)
    run = run_cli("clean", "--delivery", delivery, "--out", tmp_path / "changed")
    assert_user_error(run, "differ from the hashes", "individual_positions_0000_part_00.parquet")


def test_every_part_file_read_is_hashed(delivery, tmp_path):
    manifest = clean_delivery(delivery, tmp_path / "out")
    hashed = manifest["delivery"]["checksums"]["sha256"]
    assert sorted(hashed) == sorted(
        p.relative_to(delivery).as_posix() for p in delivery.rglob("*.parquet")
    )


# --------------------------------------------------------------------- nothing survives
def _clean_fails_with_nothing_left(delivery: Path, out: Path) -> None:
    run = run_cli("clean", "--delivery", delivery, "--out", out)
    assert_user_error(run, "survives cleaning", "ledger.parquet")
    assert not (out / "manifest.json").exists()
    ledger = pd.read_parquet(out / "ledger.parquet")
    assert ledger_balances(ledger)
    later = run_cli("estimate", "--panel", out, "--out", out.parent / "estimates")
    assert_user_error(later, "manifest.json is missing")


def test_every_position_quarantined_is_an_error_not_an_empty_panel(tmp_path):
    tables = clean_tables()
    tables["positions"]["salary"] = -1.0  # every spell quarantined: salary not positive
    delivery = write_delivery(tmp_path / "delivery", tables)
    _clean_fails_with_nothing_left(delivery, tmp_path / "out")
    ledger = pd.read_parquet(tmp_path / "out" / "ledger.parquet")
    read = ledger[(ledger["stage"] == "read") & (ledger["table"] == "positions")]
    assert read.loc[read["reason"] == "salary not positive", "rows_affected"].sum() == 6


def test_semicolon_csv_with_decimal_commas_is_an_error(tmp_path):
    delivery = write_delivery(tmp_path / "delivery", fmt="csv")
    for path in delivery.rglob("*.csv"):
        frame = pd.read_csv(path)
        frame.to_csv(path, sep=";", decimal=",", index=False)
    run = run_cli("clean", "--delivery", delivery, "--out", tmp_path / "out")
    assert run.traceback is None and run.status == 1, run.err
    assert "error:" in run.err and "positions" in run.err


# --------------------------------------------------------------------- output sets
def test_estimate_refuses_a_panel_only_folder(processed, tmp_path):
    for name in ("manifest.json", "persons.parquet", "moves.parquet", "ledger.parquet"):
        (processed / name).unlink()
    run = run_cli("estimate", "--panel", processed, "--out", tmp_path / "est")
    assert_user_error(run, "manifest.json is missing", "python -m analysis clean")
    assert not (tmp_path / "est").exists()


@pytest.mark.parametrize("damage", ["truncate", "replace", "delete"])
def test_estimate_refuses_a_changed_clean_output(processed, pipeline, tmp_path, damage):
    target = processed / ("persons.parquet" if damage == "replace" else "panel.parquet")
    if damage == "truncate":
        data = target.read_bytes()
        target.write_bytes(data[: len(data) // 2])
    elif damage == "replace":  # a file of another run beside this run's others
        frame = pd.read_parquet(target)
        frame.iloc[:-1].to_parquet(target, index=False)
    else:
        target.unlink()
    run = run_cli("estimate", "--panel", processed, "--out", tmp_path / "est")
    assert_user_error(run, target.name, "python -m analysis clean")


@pytest.mark.parametrize(
    ("content", "names"),
    [("{", ["not valid JSON"]), ("[]", ["not a JSON object"]), ("{}", ["lists no outputs"])],
)
def test_estimate_refuses_a_bad_clean_manifest(processed, tmp_path, content, names):
    (processed / "manifest.json").write_text(content)
    run = run_cli("estimate", "--panel", processed, "--out", tmp_path / "est")
    assert_user_error(run, "manifest.json", *names)


def test_estimate_refuses_another_stages_folder(estimates, tmp_path):
    run = run_cli("estimate", "--panel", estimates, "--out", tmp_path / "est")
    assert_user_error(run, "manifest.json is missing")


def test_estimate_on_a_panel_too_small_names_what_is_missing(delivery, tmp_path):
    assert run_cli("clean", "--delivery", delivery, "--out", tmp_path / "p").status == 0
    run = run_cli("estimate", "--panel", tmp_path / "p", "--out", tmp_path / "est")
    assert_user_error(run, "too few workers", "AI workers in KOR in 2024: 0")
    assert not (tmp_path / "est" / "estimates_manifest.json").exists()


@pytest.mark.parametrize("damage", ["truncate", "delete", "edit"])
def test_validate_refuses_changed_estimates(estimates, damage):
    table = estimates / "premium_by_country.csv"
    if damage == "truncate":
        table.write_text(table.read_text()[:100])
    elif damage == "delete":
        table.unlink()
    else:  # one more line: the table is no longer the one estimate wrote
        table.write_text(table.read_text() + "\n")
    run = run_cli("validate", "--estimates", estimates, "--out", estimates.parent / "validation")
    assert_user_error(run, "premium_by_country.csv", "python -m analysis estimate")
    assert not (estimates.parent / "validation").exists()


def test_validate_without_estimates_says_what_to_run(tmp_path):
    run = run_cli("validate", "--estimates", tmp_path / "none", "--out", tmp_path / "validation")
    assert_user_error(run, str(tmp_path / "none"), "python -m analysis estimate")


@pytest.mark.parametrize("broken", ["estimate_csv", "ledger", "other_panel"])
def test_report_checks_its_inputs_before_running_a_notebook(estimates, processed, tmp_path, broken):
    if broken == "estimate_csv":
        (estimates / "counterfactual.csv").unlink()
        names = ["counterfactual.csv", "python -m analysis estimate"]
    elif broken == "ledger":
        (processed / "ledger.parquet").unlink()
        names = ["ledger.parquet", "python -m analysis clean"]
    else:  # estimates made from another panel than the processed folder's
        manifest = json.loads((estimates / "estimates_manifest.json").read_text())
        manifest["panel_sha256"] = "0" * 64
        (estimates / "estimates_manifest.json").write_text(json.dumps(manifest))
        # the manifest itself is not hashed; the tables it lists still match
        names = ["another panel"]
    run = run_cli("report", "--estimates", estimates, "--processed", processed,
                  "--out", tmp_path / "reports")  # fmt: skip
    assert_user_error(run, *names)
    assert not (tmp_path / "reports").exists()  # no notebook ran


def test_report_refuses_a_missing_validation_or_one_of_other_estimates(
    estimates, processed, tmp_path
):
    """The validation page reads the validate stage's folder: missing, it names the stage
    to run; made from other estimates, it is refused before any notebook runs."""
    validation = tmp_path / "validation"
    argv = ["report", "--estimates", estimates, "--processed", processed,
            "--validation", validation, "--out", tmp_path / "reports"]  # fmt: skip
    assert_user_error(run_cli(*argv), str(validation), "python -m analysis validate")
    assert run_cli("validate", "--estimates", estimates, "--out", validation).status in (0, 2)
    manifest = json.loads((estimates / "estimates_manifest.json").read_text())
    (estimates / "estimates_manifest.json").write_text(json.dumps({**manifest, "note": "rerun"}))
    assert_user_error(run_cli(*argv), "other estimates", "python -m analysis validate")
    assert not (tmp_path / "reports").exists()


def test_a_failed_estimate_run_leaves_its_folder_refused(processed, estimates, monkeypatch):
    """The old manifest goes before any table is rewritten: a run that dies half-way
    leaves a folder validate refuses, not old and new tables side by side."""
    from analysis.estimate import stage

    def fail(frame, path):
        if path.name == "stocks.csv":
            raise KeyboardInterrupt  # as if killed while writing the tables
        return real(frame, path)

    real = stage.write_frame_atomic
    monkeypatch.setattr(stage, "write_frame_atomic", fail)
    with pytest.raises(KeyboardInterrupt):
        stage.run_estimates(processed, estimates, log=lambda _: None)
    run = run_cli("validate", "--estimates", estimates, "--out", estimates.parent / "validation")
    assert_user_error(run, "estimates_manifest.json is missing")


def test_a_failed_clean_leaves_its_folder_refused(delivery, tmp_path):
    out = tmp_path / "out"
    assert run_cli("clean", "--delivery", delivery, "--out", out).status == 0
    tables = clean_tables()
    tables["positions"]["salary"] = -1.0
    bad = write_delivery(tmp_path / "bad", tables)
    assert run_cli("clean", "--delivery", bad, "--out", out).status == 1
    run = run_cli("estimate", "--panel", out, "--out", tmp_path / "est")
    assert_user_error(run, "manifest.json is missing")


def test_clean_reports_country_names_it_cannot_map(tmp_path):
    tables = clean_tables()
    tables["positions"].loc[0, "country"] = "Not France"  # a substring match would say FRA
    delivery = write_delivery(tmp_path / "delivery", tables)
    run = run_cli("clean", "--delivery", delivery, "--out", tmp_path / "out")
    assert run.status == 0, run.err
    assert "'Not France' x 1" in run.err
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["unmapped_countries"] == [
        {"table": "positions", "column": "country", "name": "Not France", "rows": 1}
    ]
    ledger = pd.read_parquet(tmp_path / "out" / "ledger.parquet")
    read = ledger[(ledger["stage"] == "read") & (ledger["table"] == "positions")]
    assert read.loc[read["reason"] == "unknown country", "rows_affected"].sum() == 1
    assert ledger_balances(ledger)


@pytest.mark.parametrize(
    ("error", "shown"),
    [
        (PermissionError(13, "Permission denied", "/data/out/panel.parquet"), "Permission denied"),
        (OSError(28, "No space left on device", "/data/out/_tmp"), "No space left on device"),
    ],
)
def test_a_refusal_of_the_machine_is_one_line(monkeypatch, tmp_path, error, shown):
    """A folder the user cannot write or a full disk is the user's to fix: one line
    naming the file (these tests run as root, so the error is raised by hand)."""
    from analysis import cli

    def refuse(args):
        raise error

    monkeypatch.setattr(cli, "_run_clean", refuse)
    run = run_cli("clean", "--out", tmp_path)
    assert_user_error(run, shown, error.filename)


def test_other_os_errors_keep_their_traceback(monkeypatch, tmp_path):
    from analysis import cli

    def broken(args):
        raise IsADirectoryError(21, "Is a directory", "/x")  # a bug, not the user's

    monkeypatch.setattr(cli, "_run_clean", broken)
    assert run_cli("clean", "--out", tmp_path).traceback is not None


def test_status_verifies_every_stage_and_names_what_is_not_whole(estimates, processed, tmp_path):
    validation = tmp_path / "validation"
    validated = run_cli("validate", "--estimates", estimates, "--out", validation).status
    worldbank = tmp_path / "worldbank"
    assert run_cli("worldbank", "--workbook", tmp_path / "no.xlsx", "--out", worldbank).status == 0
    argv = ["status", "--processed", processed, "--estimates", estimates,
            "--validation", validation, "--worldbank", worldbank]  # fmt: skip
    whole = run_cli(*argv)
    assert whole.traceback is None and whole.out.count(": whole") == 4, whole.out
    assert whole.status == validated  # 2 when calibration targets fail, as validate says
    (estimates / "stocks.csv").write_text("x\n")
    broken = run_cli(*argv)
    assert broken.status == 1 and "stocks.csv changed since estimate wrote it" in broken.out
    assert "not whole" in broken.err
