"""The out-of-core least squares (normal equations in DuckDB) against pyfixest.

pyfixest with ``fixef_rm="none"`` is the reference: the same weighted dummy-variable
regression, clustered by person with the CRV1 factor. The data have crossed fixed
effects with rare levels (the case where a plain pseudo-inverse of the fixed-effect
block mistakes rare levels for its null space), a singleton, several rows per person
and groups; the standard errors must agree to 1e-8, the estimates to 1e-9.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pyfixest as pf
import pytest

from analysis.estimate.normal_equations import (
    cluster_meat,
    clustered_result,
    feols_by,
    normal_equations,
    solve,
)

FIXED = ["job", "degree", "start", "year"]
#: The overlapping samples' rows, in pandas (their SQL conditions are in the test).
SAMPLE_MASKS = {
    "all": lambda d: np.ones(len(d), dtype=bool),
    "late": lambda d: d["year"] >= 2018,
    "jobs_ab": lambda d: d["job"].isin(["a", "b"]),
}


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    n = 24_000
    df = pd.DataFrame(
        {
            "pid": rng.integers(0, 6_000, n),
            "cohort": rng.choice(["A", "B"], n),
            "job": rng.choice(list("abcdefgh"), n),
            "degree": rng.integers(0, 5, n),
            # a long tail of rare levels, as the start year of positions has
            "start": np.minimum(rng.geometric(0.15, n), 40),
            "year": rng.integers(2010, 2025, n),
            "ai": rng.integers(0, 2, n).astype(float),
            "x": rng.normal(size=n),
            # weights of the scale of the panel's (thousands per person)
            "w": rng.uniform(500, 5_000, n),
        }
    )
    df.loc[3, "degree"] = 99  # a singleton level
    df["y"] = (
        0.2 * df["ai"]
        + 0.3 * df["x"]
        + 0.05 * df["degree"].clip(upper=5)
        + 0.01 * df["start"]
        + rng.normal(0, 0.5, n)
        + 0.2 * (df["pid"] % 5)
    )
    return df


@pytest.fixture(scope="module")
def con(rows):
    connection = duckdb.connect()
    connection.register("rows", rows)
    return connection


def _pyfixest(frame: pd.DataFrame, terms: list[str]):
    return pf.feols(
        f"y ~ {' + '.join(terms)} | {' + '.join(FIXED)}",
        data=frame,
        weights="w",
        vcov={"CRV1": "pid"},
        fixef_rm="none",
    )


def test_feols_by_equals_pyfixest_by_group(rows, con):
    fits = feols_by(
        con, "rows", "y", ["ai", "x"], fixed_effects=FIXED, weights="w", cluster="pid",
        by=["cohort"],
    )  # fmt: skip
    assert set(fits) == {("A",), ("B",)}
    for (group,), result in fits.items():
        reference = _pyfixest(rows[rows["cohort"] == group], ["ai", "x"])
        np.testing.assert_allclose(result.params, reference.coef(), rtol=0, atol=1e-9)
        np.testing.assert_allclose(result.std_errors, reference.se(), rtol=1e-8)
        assert result.nobs == reference._N
        assert result.info["clusters"] == reference._G[0]
        assert result.df_resid == reference._G[0] - 1


def test_where_filter_and_missing_rows_are_left_out(rows, con):
    data = rows.copy()
    data.loc[data.index[:50], "y"] = np.nan
    con.register("with_missing", data)
    result = feols_by(
        con, "with_missing", "y", ["ai"], fixed_effects=FIXED, weights="w", cluster="pid",
        where="year >= 2015",
    )[()]  # fmt: skip
    subset = data[(data["year"] >= 2015)].dropna(subset=["y"])
    reference = _pyfixest(subset, ["ai"])
    assert result.nobs == len(subset)
    np.testing.assert_allclose(result.params, reference.coef(), atol=1e-9, rtol=0)
    np.testing.assert_allclose(result.std_errors, reference.se(), rtol=1e-8)


def test_normal_equations_of_disjoint_rows_add_up(con):
    kwargs = {"fixed_effects": FIXED, "weights": "w"}
    whole = normal_equations(con, "rows", "y", ["ai", "x"], **kwargs)[()]
    parts = normal_equations(con, "rows", "y", ["ai", "x"], by=["cohort"], **kwargs)
    summed = parts[("A",)] + parts[("B",)]
    assert summed.index() == whole.index()
    np.testing.assert_allclose(summed.xtx, whole.xtx, rtol=1e-12)
    np.testing.assert_allclose(summed.xty, whole.xty, rtol=1e-12)
    assert summed.n == whole.n
    assert solve(summed).params.round(10).equals(solve(whole).params.round(10))


def test_overlapping_samples_in_one_pass_equal_separate_fits(rows, con):
    """The skill premiums' case: samples sharing rows, fitted in one second pass."""
    samples = {"all": "true", "late": "year >= 2018", "jobs_ab": "job IN ('a', 'b')"}
    kwargs = {"fixed_effects": FIXED, "weights": "w"}
    solutions = {
        ("A", name): solve(
            normal_equations(con, "rows", "y", ["ai"], where=f"cohort = 'A' AND {c}", **kwargs)[()]
        )
        for name, c in samples.items()
    }
    meats = cluster_meat(
        con, "rows", solutions, "y", ["ai"], cluster="pid", by=["cohort"],
        where="cohort = 'A'", samples=samples, **kwargs,
    )  # fmt: skip
    for name in samples:
        result = clustered_result(solutions[("A", name)], *meats[("A", name)], cluster="pid")
        subset = rows[rows["cohort"] == "A"]
        subset = subset[SAMPLE_MASKS[name](subset)]
        reference = _pyfixest(subset, ["ai"])
        np.testing.assert_allclose(result.params, reference.coef(), atol=1e-9, rtol=0)
        np.testing.assert_allclose(result.std_errors, reference.se(), rtol=1e-8)
        assert result.info["clusters"] == subset["pid"].nunique()


def test_a_term_the_fixed_effects_explain_is_dropped_and_named(rows, con):
    data = rows.assign(job_a=(rows["job"] == "a").astype(float))
    con.register("collinear", data)
    result = feols_by(
        con, "collinear", "y", ["ai", "job_a"], fixed_effects=FIXED, weights="w",
        cluster="pid",
    )[()]  # fmt: skip
    assert list(result.params.index) == ["ai"]
    assert result.info["dropped_collinear"] == ["job_a"]
    reference = _pyfixest(rows, ["ai"])
    np.testing.assert_allclose(result.params, reference.coef(), atol=1e-9, rtol=0)


def test_memory_limit_is_respected_on_many_rows(tmp_path):
    """A million rows through a 200 MB DuckDB: the passes stream and spill."""
    rng = np.random.default_rng(1)
    n = 1_000_000
    frame = pd.DataFrame(
        {
            "pid": rng.integers(0, 200_000, n),
            "job": rng.integers(0, 50, n),
            "year": rng.integers(2010, 2025, n),
            "ai": rng.integers(0, 2, n).astype(float),
        }
    )
    frame["y"] = 0.1 * frame["ai"] + 0.01 * frame["job"] + rng.normal(size=n)
    frame.to_parquet(tmp_path / "rows.parquet")
    con = duckdb.connect(
        config={"memory_limit": "200MB", "temp_directory": str(tmp_path / "spill"), "threads": 2}
    )
    source = f"read_parquet('{tmp_path / 'rows.parquet'}')"
    result = feols_by(con, source, "y", ["ai"], fixed_effects=["job", "year"], cluster="pid")[()]
    reference = pf.feols("y ~ ai | job + year", data=frame, vcov={"CRV1": "pid"}, fixef_rm="none")
    np.testing.assert_allclose(result.params, reference.coef(), atol=1e-10, rtol=0)
    np.testing.assert_allclose(result.std_errors, reference.se(), rtol=1e-8)


def test_terms_beyond_the_fast_fixed_point_are_summed_wide(rows, monkeypatch):
    """The panel's weights (thousands) sum in FAST; weights of 1e8 put ``w y`` beyond
    FAST's +-2^23, so both passes sum again in DECIMAL (an overflow is never a wrong
    number), and the fit still equals pyfixest's."""
    import analysis.estimate.normal_equations as ne

    finished: list[ne.FixedPoint] = []
    exactly = ne._exactly

    def spy(run):
        def tracked(exact):
            out = run(exact)
            finished.append(exact)
            return out

        return exactly(tracked)

    monkeypatch.setattr(ne, "_exactly", spy)
    for weight_scale, expected in [(1.0, ne.FAST), (1e5, ne.WIDE)]:
        finished.clear()
        data = rows.assign(w=rows["w"] * weight_scale)
        connection = duckdb.connect()
        connection.register("data", data)
        result = feols_by(
            connection, "data", "y", ["ai", "x"], fixed_effects=FIXED, weights="w", cluster="pid"
        )[()]
        assert finished == [expected, expected]
        reference = _pyfixest(data, ["ai", "x"])
        np.testing.assert_allclose(result.params, reference.coef(), rtol=0, atol=1e-9)
        np.testing.assert_allclose(result.std_errors, reference.se(), rtol=1e-8)
