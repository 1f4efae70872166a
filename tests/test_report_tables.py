"""Regression tables in the economics layout, built from tidy results."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.report.tables import export_regression_table, regression_table


def tidy(rows: list[tuple[str, float, float, float | None]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["term", "estimate", "std_error", "p_value"])
    return frame.dropna(axis=1, how="all")


@pytest.mark.parametrize(
    ("p_value", "cell"),
    [(0.009, "0.100***"), (0.049, "0.100**"), (0.099, "0.100*"), (0.1, "0.100"), (0.5, "0.100")],
)
def test_stars_follow_the_p_value(p_value, cell):
    table = regression_table({"(1)": tidy([("x", 0.1, 0.05, p_value)])}, {"x": "X"})
    assert table.loc["X", "(1)"] == cell
    assert table.iloc[1, 0] == "(0.050)"


def test_without_p_values_stars_come_from_the_normal_distribution():
    # z = 2.0: two-sided p = 0.0455 -> two stars; z = 1.5: p = 0.134 -> none
    table = regression_table(
        {"a": tidy([("x", 0.2, 0.1, None)]), "b": tidy([("x", 0.15, 0.1, None)])}, {"x": "X"}
    )
    assert table.loc["X"].tolist() == ["0.200**", "0.150"]


def test_terms_in_order_missing_terms_blank_and_footer_formatted():
    one = tidy([("x", 1.0, 0.5, 0.3), ("z", -2.0, 1.0, 0.04)])
    two = tidy([("z", 3.0, 1.0, 0.001)])
    table = regression_table(
        {"(1)": one, "(2)": two},
        {"z": "Zed", "x": "Ex"},
        footer={"Observations": {"(1)": 12345, "(2)": 99}, "Fixed effects": {"(1)": "year"}},
    )
    assert table.index.tolist() == ["Zed", "", "Ex", "", "Observations", "Fixed effects"]
    assert table["(1)"].tolist() == ["-2.000**", "(1.000)", "1.000", "(0.500)", "12,345", "year"]
    assert table["(2)"].tolist() == ["3.000***", "(1.000)", "", "", "99", ""]


def test_latex_has_a_rule_before_the_footer_and_the_notes(tmp_path):
    table = regression_table(
        {"(1)": tidy([("x", 1.0, 0.5, 0.3)])}, {"x": "X"}, footer={"N": {"(1)": 10}}
    )
    csv, tex = export_regression_table(
        table, tmp_path / "t", caption="Pay & mobility", notes="Clustered by person."
    )
    text = tex.read_text()
    lines = text.splitlines()
    assert lines.index("\\midrule", lines.index("\\midrule") + 1) == lines.index("N & 10 \\\\") - 1
    assert "Pay \\& mobility" in text and "Clustered by person." in text
    assert "*** p < 0.01" in text
    assert pd.read_csv(csv).shape == (3, 2)
