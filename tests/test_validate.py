"""The validation table: verdicts are computed from estimates and the registry."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from output_sets import seal_estimates

from analysis.sources.published import load_published_figures
from analysis.validate import calibration_failures, validation_table


@pytest.fixture
def estimates(tmp_path):
    """A tiny estimates folder: Korea's premium 6.5% (se 1.0) and yearly net flows."""
    pd.DataFrame({"country": ["KOR"], "premium_pct": [6.5], "premium_se": [1.0]}).to_csv(
        tmp_path / "premium_by_country.csv", index=False
    )
    years = list(range(2011, 2025))
    net = [-10.0 if y != 2020 else 5.0 for y in years]
    pd.DataFrame({"country": "KOR", "year": years, "net_inflow": net}).to_csv(
        tmp_path / "flows_ai.csv", index=False
    )
    return seal_estimates(tmp_path)


def test_verdicts_follow_the_rules(estimates):
    table = validation_table(estimates).set_index("figure_id")
    kor = table.loc["premium_kr_2024"]
    assert kor["verdict"] == "pass" and kor["role"] == "calibration target"
    assert kor["conf_low"] == pytest.approx(6.5 - 1.959964) and kor["published"] == 6.0
    pattern = table.loc["kr_net_outflow_years"]
    assert pattern["verdict"] == "pass" and pattern["estimate"] == 1.0
    # figures without an estimate are listed, not dropped
    assert table.loc["premium_us", "verdict"] == "n/a"


def test_changing_a_published_value_flips_the_verdict(estimates, tmp_path):
    figures = load_published_figures()
    assert (
        validation_table(estimates, figures=figures)
        .set_index("figure_id")
        .loc["premium_kr_2024", "verdict"]
        == "pass"
    )
    changed = figures.copy()
    changed.loc[changed["id"] == "premium_kr_2024", "value"] = 12.0  # outside 6.5 +- 1.96
    table = validation_table(estimates, figures=changed)
    assert table.set_index("figure_id").loc["premium_kr_2024", "verdict"] == "fail"
    assert list(calibration_failures(table)["figure_id"]) == ["premium_kr_2024"]


def test_sign_pattern_fails_when_2020_is_an_outflow(estimates):
    flows = pd.read_csv(estimates / "flows_ai.csv")
    flows.loc[flows["year"] == 2020, "net_inflow"] = -3.0
    flows.to_csv(estimates / "flows_ai.csv", index=False)
    row = validation_table(estimates).set_index("figure_id").loc["kr_net_outflow_years"]
    assert row["verdict"] == "fail" and "13 of 14 years match" in row["note"]


def test_real_data_has_no_calibration_targets(estimates):
    table = validation_table(estimates, synthetic=False)
    assert set(table["role"]) == {"out-of-sample check"}
    assert calibration_failures(table).empty


def test_cli_exits_non_zero_when_a_target_fails(estimates, monkeypatch, tmp_path_factory):
    from analysis import cli

    out = tmp_path_factory.mktemp("validation")
    assert cli.main(["validate", "--estimates", str(estimates), "--out", str(out)]) == 0
    assert (out / "validation.csv").exists() and (out / "validation_manifest.json").exists()
    real = load_published_figures

    def shifted(*args, **kwargs):
        figures = real(*args, **kwargs)
        figures.loc[figures["id"] == "premium_kr_2024", "value"] = 30.0
        return figures

    monkeypatch.setattr("analysis.validate.load_published_figures", shifted)
    assert cli.main(["validate", "--estimates", str(estimates), "--out", str(out)]) == 2
    failed = json.loads((out / "validation_manifest.json").read_text())["calibration_failures"]
    assert failed == ["premium_kr_2024"]


def test_all_builds_the_reports_when_targets_fail_and_exits_non_zero(monkeypatch, capsys):
    """A failing calibration target is a finding for the validation page: ``all`` still
    builds the reports, and its exit status says the targets failed."""
    from analysis import cli

    calls = []
    for stage, status in [("synth", 0), ("inspect", 0), ("clean", 0), ("estimate", 0),
                          ("validate", 2), ("worldbank", 0), ("report", 0)]:  # fmt: skip
        monkeypatch.setattr(
            cli, f"_run_{stage}", lambda args, stage=stage, status=status: calls.append(stage)
            or status
        )  # fmt: skip
    assert cli.main(["all"]) == 2
    assert calls == ["synth", "inspect", "clean", "estimate", "validate", "worldbank", "report"]
    assert "calibration targets fail" in capsys.readouterr().err


def test_overseas_share_figures_read_their_rows(pipeline):
    """Korea's AI share abroad and its gap to non-AI workers come from the rows of
    ``overseas_share.csv`` named by ``group``, for the last year."""
    table = validation_table(pipeline / "estimates").set_index("figure_id")
    shares = pd.read_csv(pipeline / "estimates" / "overseas_share.csv")
    last = shares[(shares["origin"] == "KOR") & (shares["year"] == shares["year"].max())]
    by_group = last.set_index("group")["share_abroad"]
    assert table.loc["kr_abroad_share", "estimate"] == pytest.approx(by_group["ai"])
    assert table.loc["kr_abroad_share_gap_vs_nonai", "estimate"] == pytest.approx(
        by_group["ai"] - by_group["non_ai"]
    )
