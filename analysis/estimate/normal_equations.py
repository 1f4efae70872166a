"""Weighted fixed-effects least squares in DuckDB: exact, out of core, clustered by person.

The premium regressions have a few regressors (the AI indicator, or the skill-set
design) and coarse fixed effects (seniority, job category, degree, field, sex, industry,
start year, year: about 150 levels in all). Their normal equations are therefore small
(``p x p`` with ``p`` about 150) even when the rows are 10^8, and every entry is a
weighted sum that DuckDB computes out of core in one pass:

- regressor x regressor: ``sum w t_a t_b``; regressor x level: ``sum w t_a`` by level;
- level x level of two fixed effects: ``sum w`` by the pair of levels (a cross tab);
- the right-hand side: ``sum w y t_a`` and ``sum w y`` by level.

A ``GROUP BY`` per group, and ``GROUP BY GROUPING SETS`` over cells (rows first summed by
every key), return them all, for every group of ``by`` at once
(:func:`normal_equations`). Normal equations add
up over disjoint sets of rows (:meth:`NormalEquations.__add__`), so a regression on a
union of samples (non-AI workers plus the holders of one skill) is the sum of their
blocks, and the shared block is computed once.

The solution (:func:`solve`) absorbs the fixed effects by the Frisch-Waugh-Lovell
theorem with a generalised inverse of the fixed-effect block (a reference level per
extra fixed effect, then a scaled pseudo-inverse for any other collinearity of levels;
fitted values do not depend on that choice).

Clustered standard errors need each cluster's score ``s_g = sum_{r in g} w_r e_r
x~_r`` (``x~`` the regressors net of the fixed effects, ``e`` the residual), which no
cell sum gives when clusters are persons. :func:`cluster_meat` makes a second pass:
DuckDB joins each row to the per-level solution (small tables), forms ``w e x~``, sums it
by cluster and returns ``sum_g s_g s_g'``, so memory stays bounded by DuckDB's
``memory_limit`` whatever the number of rows or persons. The CRV1 small-sample factor is
pyfixest's, ``G/(G-1) (N-1)/(N-K)`` with ``K`` the regressors plus the fixed-effect
levels less one per extra fixed effect.

Singleton fixed-effect cells are kept: a row alone in its level is fitted exactly,
changes no coefficient and has a zero score, so only ``N`` and ``K`` each count it once
more than pyfixest's default (``fixef_rm="singleton"``); estimates and standard errors
equal pyfixest's with ``fixef_rm="none"``.

No maintained library computes clustered fixed-effects regressions from engine
aggregates (duckreg compresses rows to cells, which leaves nothing to compress with
person clusters and eight fixed effects: at scale 8 the 5.3 million rows form 3.5
million cells), which is why this is written here.

Examples
--------
>>> import duckdb, numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> n = 6000
>>> df = pd.DataFrame({"pid": np.arange(n) // 3, "job": rng.integers(0, 4, n),
...                    "ai": rng.integers(0, 2, n).astype(float), "w": 1.0})
>>> df["y"] = 0.2 * df["ai"] + 0.1 * df["job"] + rng.normal(0, 0.3, n)
>>> con = duckdb.connect()
>>> con.register("rows", df)  # doctest: +ELLIPSIS
<...>
>>> fits = feols_by(con, "rows", "y", ["ai"], fixed_effects=["job"], weights="w",
...                 cluster="pid")
>>> res = fits[()]
>>> round(float(res.params["ai"]), 2), res.nobs, res.info["clusters"]
(0.2, 6000, 2000)
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

import duckdb
import numpy as np
import pandas as pd
from scipy import linalg

from analysis.estimate.covariance import crv1_factor, sandwich
from analysis.estimate.results import RegressionResult
from analysis.sql import identifier

_T = TypeVar("_T")


@dataclass
class NormalEquations:
    """``X'WX``, ``X'Wy`` and counts of one regression, on regressors then fixed-effect
    levels (every level of every fixed effect).

    Attributes
    ----------
    terms, fixed_effects
        Regressor and fixed-effect column names.
    levels
        Fixed effect -> the levels present (sorted).
    xtx, xty
        Normal equations in the order ``terms``, then each fixed effect's ``levels``.
    n
        Rows.
    nonzero
        Term -> rows where it is not zero (for "treatment does not vary").
    """

    terms: list[str]
    fixed_effects: list[str]
    levels: dict[str, list[object]]
    xtx: np.ndarray
    xty: np.ndarray
    n: int
    nonzero: dict[str, int]

    def index(self) -> list[tuple[str, object]]:
        """Row labels of ``xtx``: ``("term", name)`` then ``(fixed effect, level)``."""
        return [("term", t) for t in self.terms] + [
            (f, level) for f in self.fixed_effects for level in self.levels[f]
        ]

    def __add__(self, other: NormalEquations) -> NormalEquations:
        """The normal equations of the union of two disjoint sets of rows."""
        if self.terms != other.terms or self.fixed_effects != other.fixed_effects:
            raise ValueError("normal equations of different models cannot be added")
        levels = {
            f: sorted(set(self.levels[f]) | set(other.levels[f]), key=_sort_key)
            for f in self.fixed_effects
        }
        out = NormalEquations(
            self.terms,
            self.fixed_effects,
            levels,
            np.zeros((0, 0)),
            np.zeros(0),
            self.n + other.n,
            {t: self.nonzero[t] + other.nonzero[t] for t in self.terms},
        )
        position = {label: i for i, label in enumerate(out.index())}
        p = len(position)
        out.xtx, out.xty = np.zeros((p, p)), np.zeros(p)
        for part in (self, other):
            where = np.array([position[label] for label in part.index()], dtype=int)
            out.xtx[np.ix_(where, where)] += part.xtx
            out.xty[where] += part.xty
        return out


def _sort_key(value: object) -> tuple[str, object]:
    return (type(value).__name__, value)


@dataclass(frozen=True)
class FixedPoint:
    """How the engine sums exactly: each term is rounded once to a fixed point, and the
    sums of fixed-point numbers are exact, so they do not depend on the order in which
    DuckDB's threads add them (double sums differ run to run in the last digits, and so
    would every estimate built on them).

    ``sql_type`` holds one rounded term; ``scale`` multiplies the term before the cast
    and divides the sum after it. See :data:`FAST` and :data:`WIDE`.
    """

    sql_type: str
    scale: float

    def term(self, expr: str) -> str:
        """SQL rounding ``expr`` to the fixed point."""
        scaled = f"({expr}) * {self.scale!r}" if self.scale != 1 else f"({expr})"
        return f"CAST({scaled} AS {self.sql_type})"

    def to_double(self, total: str) -> str:
        """SQL turning an exact sum of rounded terms back into a DOUBLE."""
        cast = f"CAST({total} AS DOUBLE)"
        return f"{cast} / {self.scale!r}" if self.scale != 1 else cast

    def sum(self, expr: str, where: str | None = None) -> str:
        """SQL summing ``expr`` exactly over the rows where ``where`` holds (all rows by
        default), as a DOUBLE."""
        condition = f" FILTER ({where})" if where else ""
        return self.to_double(f"sum({self.term(expr)}){condition}")


#: Terms in units of 2^-40 as BIGINT, summed by DuckDB as HUGEINT (128 bits, exact for
#: any number of rows): about six times faster than DECIMAL sums. A term is rounded at
#: 4.5e-13 (absolute, as fine as :data:`WIDE`; the rounding errors average out over the
#: rows) and must lie within +-2^23 (8.4e6: a weight of 6e5 times a log wage of 13); a
#: larger one is a conversion error, on which the engine sums again in :data:`WIDE`.
FAST = FixedPoint("BIGINT", 2.0**40)

#: Terms as DECIMAL(38, 12): rounded at 5e-13, up to 1e26 in size; the fallback for
#: terms out of :data:`FAST`'s range. An overflow here is an error, never a wrong number.
WIDE = FixedPoint("DECIMAL(38, 12)", 1.0)


def _exactly(run: Callable[[FixedPoint], _T]) -> _T:
    """``run(FAST)``, or ``run(WIDE)`` when a term is out of FAST's range."""
    try:
        return run(FAST)
    except duckdb.ConversionException:
        return run(WIDE)


def _sums_sql(
    relation: str,
    outcome: str,
    terms: Sequence[str],
    fixed_effects: Sequence[str],
    weights: str | None,
    by: Sequence[str],
    where: str | None,
    *,
    cells: bool,
    exact: FixedPoint,
) -> str:
    """Weighted sums of the rows used: by ``by`` and every fixed effect (``cells``: ``n``,
    ``sw``, ``swy``, ``st<a>``), or by ``by`` alone with the products of terms too
    (``sty<a>``, ``stt<a>_<b>``, ``nz<a>``, the rows where term ``a`` is not zero).

    Many sums in a hash aggregate over many keys are slow in DuckDB, so the products of
    terms, needed by group only, are summed without the fixed-effect keys."""
    w = f"CAST({identifier(weights)} AS DOUBLE)" if weights else "1.0"
    y = f"CAST({identifier(outcome)} AS DOUBLE)"
    t = [f"CAST({identifier(x)} AS DOUBLE)" for x in terms]
    # the cells keep their exact sums, which the level sums add up again
    total = exact.sum if not cells else (lambda e: f"sum({exact.term(e)})")
    sums = {"n": "count(*)", "sw": total(w), "swy": total(f"{w} * {y}")}
    for a, ta in enumerate(t):
        sums[f"st{a}"] = total(f"{w} * {ta}")
        if not cells:
            sums[f"sty{a}"] = total(f"{w} * {ta} * {y}")
            sums[f"nz{a}"] = f"count(*) FILTER ({ta} <> 0)"
            for b in range(a, len(t)):
                sums[f"stt{a}_{b}"] = total(f"{w} * {ta} * {t[b]}")
    used = [outcome, *terms, *fixed_effects, *by] + ([weights] if weights else [])
    conditions = [f"{identifier(c)} IS NOT NULL" for c in dict.fromkeys(used)]
    if where:
        conditions.append(f"({where})")
    keys = ", ".join(identifier(k) for k in [*by, *(fixed_effects if cells else [])])
    body = ", ".join(f"{expr} AS {name}" for name, expr in sums.items())
    return (
        f"SELECT {keys + ', ' if keys else ''}{body} FROM {relation} "
        f"WHERE {' AND '.join(conditions)}" + (f" GROUP BY {keys}" if keys else "")
    )


def normal_equations(
    con: duckdb.DuckDBPyConnection,
    relation: str,
    outcome: str,
    terms: Sequence[str],
    *,
    fixed_effects: Sequence[str] = (),
    weights: str | None = None,
    by: Sequence[str] = (),
    where: str | None = None,
) -> dict[tuple, NormalEquations]:
    """The normal equations of ``outcome`` on ``terms`` and ``fixed_effects``, by group.

    Parameters
    ----------
    con
        DuckDB connection (its ``memory_limit`` bounds the memory used).
    relation
        What to read: a table or view name, or ``read_parquet('...')``.
    outcome, terms
        Outcome and numeric (or boolean) regressors.
    fixed_effects
        Categorical columns (any type), entered as a full set of level indicators.
    weights
        Analytic weights column (``None``: every row weighs 1).
    by
        Columns defining separate regressions.
    where
        SQL filter applied first. Rows with a missing value in any used column are left
        out (as pyfixest does).

    Returns
    -------
    dict
        Group key (a tuple of the ``by`` values; ``()`` without ``by``) ->
        :class:`NormalEquations`.
    """
    terms, fixed_effects, by = list(terms), list(fixed_effects), list(by)
    args = (relation, outcome, terms, fixed_effects, weights, by, where)

    def sums(exact: FixedPoint) -> pd.DataFrame:
        totals = con.sql(_sums_sql(*args, cells=False, exact=exact)).df().assign(_set="")
        if not fixed_effects:
            return totals
        table_name = f"_ne_cells_{next(_TEMP_NAMES)}"
        con.sql(f"CREATE TEMP TABLE {table_name} AS {_sums_sql(*args, cells=True, exact=exact)}")
        try:
            levels = _level_sums(con, table_name, len(terms), fixed_effects, by, exact)
        finally:
            con.sql(f"DROP TABLE IF EXISTS {table_name}")
        return pd.concat([totals, levels], ignore_index=True)

    parts = _exactly(sums)
    out: dict[tuple, NormalEquations] = {}
    groups = parts.groupby(by, sort=True, dropna=False) if by else [((), parts)]
    for key, part in groups:
        key = key if isinstance(key, tuple) else (key,)
        out[tuple(key)] = _assemble(part, terms, fixed_effects)
    return out


_TEMP_NAMES = itertools.count()


def _level_sums(
    con: duckdb.DuckDBPyConnection,
    cells: str,
    n_terms: int,
    fixed_effects: list[str],
    by: list[str],
    exact: FixedPoint,
) -> pd.DataFrame:
    """The cell sums by group and level (set ``f``) and by group and pair of levels (set
    ``f|g``, only ``sw``), each grouping set computing only the sums it needs."""
    keys = [*by, *fixed_effects]

    def grouping_sets(sets: list[list[str]], names: list[str]) -> pd.DataFrame:
        grouping = ", ".join("(" + ", ".join(identifier(c) for c in g) + ")" for g in sets)
        flags = [f"GROUPING({identifier(f)}) AS {identifier('_g_' + f)}" for f in fixed_effects]
        table = con.sql(
            "SELECT "
            + ", ".join(
                [
                    *(identifier(k) for k in keys),
                    *flags,
                    *(
                        f"CAST(sum({s}) AS DOUBLE) AS {s}"
                        if s == "n"
                        else f"{exact.to_double(f'sum({s})')} AS {s}"
                        for s in names
                    ),
                ]
            )
            + f" FROM {cells} GROUP BY GROUPING SETS ({grouping})"
        ).df()
        grouped = [~table["_g_" + f].astype(bool) for f in fixed_effects]
        table["_set"] = [
            "|".join(f for f, g in zip(fixed_effects, row, strict=True) if g)
            for row in zip(*grouped, strict=True)
        ]
        return table.drop(columns=[f"_g_{f}" for f in fixed_effects])

    level = ["n", "sw", "swy", *[f"st{a}" for a in range(n_terms)]]
    frames = [grouping_sets([[*by, f] for f in fixed_effects], level)]
    pairs = [[*by, f, g] for i, f in enumerate(fixed_effects) for g in fixed_effects[i + 1 :]]
    if pairs:
        frames.append(grouping_sets(pairs, ["sw"]))
    return pd.concat(frames, ignore_index=True)


def _assemble(table: pd.DataFrame, terms: list[str], fixed_effects: list[str]) -> NormalEquations:
    """One group's normal equations from its rows of the grouping-sets table."""
    k = len(terms)
    sets = {name: part for name, part in table.groupby("_set", sort=False)}
    total = sets[""].iloc[0]
    levels = {f: sorted(sets[f][f].tolist(), key=_sort_key) for f in fixed_effects}
    ne = NormalEquations(
        terms,
        fixed_effects,
        levels,
        np.zeros((0, 0)),
        np.zeros(0),
        int(total["n"]),
        {t: int(total[f"nz{a}"]) for a, t in enumerate(terms)},
    )
    position = {label: i for i, label in enumerate(ne.index())}
    p = len(position)
    xtx, xty = np.zeros((p, p)), np.zeros(p)
    for a in range(k):
        xty[a] = total[f"sty{a}"]
        for b in range(a, k):
            xtx[a, b] = xtx[b, a] = total[f"stt{a}_{b}"]
    for f in fixed_effects:
        part = sets[f]
        where = np.array([position[(f, v)] for v in part[f]], dtype=int)
        xtx[where, where] = part["sw"].to_numpy(float)
        xty[where] = part["swy"].to_numpy(float)
        for a in range(k):
            xtx[a, where] = xtx[where, a] = part[f"st{a}"].to_numpy(float)
    for i, f in enumerate(fixed_effects):
        for g in fixed_effects[i + 1 :]:
            part = sets.get(f"{f}|{g}")
            if part is None:
                continue
            rows = np.array([position[(f, v)] for v in part[f]], dtype=int)
            cols = np.array([position[(g, v)] for v in part[g]], dtype=int)
            values = part["sw"].to_numpy(float)
            xtx[rows, cols] = values
            xtx[cols, rows] = values
    ne.xtx, ne.xty = xtx, xty
    return ne


@dataclass
class Solution:
    """Least-squares solution of :class:`NormalEquations`.

    Attributes
    ----------
    params
        Coefficients of the identified terms.
    level_effects
        Fixed effect -> DataFrame indexed by level: ``gamma`` (the level's effect, one
        normalisation among many; fitted values do not depend on it) and, for each
        term, ``pi_<term>`` (the term's projection on the fixed effects).
    bread
        ``(X~'WX~)^-1`` of the identified terms.
    dropped
        Terms left out because the fixed effects (or other terms) explain them.
    k
        Parameters counted in the small-sample factor.
    """

    params: pd.Series
    level_effects: dict[str, pd.DataFrame]
    bread: np.ndarray
    dropped: list[str]
    k: int
    n: int


def _fixed_effect_inverse(ne: NormalEquations, rtol: float = 1e-9) -> np.ndarray:
    """A generalised inverse of the fixed-effect block.

    The first level of every fixed effect after the first is the reference (its row and
    column get zeros), which removes the block's structural singularity; the rest is
    scaled to a unit diagonal (so that rare levels are not mistaken for a null space)
    and pseudo-inverted, which handles any remaining collinearity of levels.
    """
    k = len(ne.terms)
    a_ff = ne.xtx[k:, k:]
    if not a_ff.size:
        return np.zeros((0, 0))
    keep = np.ones(len(a_ff), dtype=bool)
    start = 0
    for i, f in enumerate(ne.fixed_effects):
        if i > 0 and ne.levels[f]:
            keep[start] = False
        start += len(ne.levels[f])
    sub = a_ff[np.ix_(keep, keep)]
    scale = 1.0 / np.sqrt(np.where(np.diag(sub) > 0, np.diag(sub), 1.0))
    inverse = np.zeros_like(a_ff)
    scaled = linalg.pinvh(sub * scale[:, None] * scale[None, :], rtol=rtol)
    inverse[np.ix_(keep, keep)] = scaled * scale[:, None] * scale[None, :]
    return inverse


def solve(ne: NormalEquations, *, tolerance: float = 1e-10) -> Solution:
    """Solve the normal equations; terms collinear with the fixed effects are dropped.

    The fixed effects are absorbed with a generalised inverse of their block
    (:func:`_fixed_effect_inverse`); a term
    whose variance net of the fixed effects and the terms before it is below
    ``tolerance`` times its raw weighted sum of squares is dropped, as pyfixest drops
    collinear variables.
    """
    k = len(ne.terms)
    a_tt, a_tf = ne.xtx[:k, :k], ne.xtx[:k, k:]
    b_t, b_f = ne.xty[:k], ne.xty[k:]
    ff_pinv = _fixed_effect_inverse(ne)
    pi = ff_pinv @ a_tf.T  # levels x terms: each term's projection on the fixed effects
    schur = a_tt - a_tf @ pi
    keep: list[int] = []
    for a in range(k):  # Gram-Schmidt order, as a pivoted Cholesky would
        candidate = [*keep, a]
        sub = schur[np.ix_(candidate, candidate)]
        if keep:
            resid = sub[-1, -1] - sub[-1, :-1] @ np.linalg.solve(sub[:-1, :-1], sub[:-1, -1])
        else:
            resid = sub[-1, -1]
        if resid > tolerance * max(a_tt[a, a], 1e-300):
            keep.append(a)
    names = [ne.terms[a] for a in keep]
    bread = np.linalg.inv(schur[np.ix_(keep, keep)])
    beta = bread @ (b_t[keep] - pi[:, keep].T @ b_f)
    gamma = ff_pinv @ (b_f - a_tf[keep].T @ beta)
    effects: dict[str, pd.DataFrame] = {}
    start = 0
    for f in ne.fixed_effects:
        size = len(ne.levels[f])
        block = pd.DataFrame(
            {"gamma": gamma[start : start + size]},
            index=pd.Index(ne.levels[f], name=f),
        )
        for a, name in zip(keep, names, strict=True):
            block[f"pi_{name}"] = pi[start : start + size, a]
        effects[f] = block
        start += size
    n_levels = sum(len(v) for v in ne.levels.values())
    n_fe = len(ne.fixed_effects)
    k_total = len(names) + (n_levels - (n_fe - 1) if n_fe else 0)
    return Solution(
        params=pd.Series(beta, index=names, dtype=float),
        level_effects=effects,
        bread=bread,
        dropped=[t for t in ne.terms if t not in names],
        k=k_total,
        n=ne.n,
    )


def _solution_tables(
    solutions: Mapping[tuple, Solution],
    by: Sequence[str],
    fixed_effects: Sequence[str],
    samples: Sequence[str],
    names: Sequence[str],
) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """Wide tables the second pass joins: by group, each sample's coefficients
    (``b<s>_<a>``); by group and level, each sample's ``g<s>`` (gamma) and ``p<s>_<a>``
    (pi). A sample without the level (or without a solution) gets zeros: its rows
    never have that level, so the zeros are never used."""
    n_by = len(by)
    groups = sorted({key[:n_by] for key in solutions}, key=lambda k: tuple(map(str, k)))
    coef_rows, level_rows = [], {f: {} for f in fixed_effects}
    for group in groups:
        row = dict(zip(by, group, strict=True))
        for i, sample in enumerate(samples):
            sol = solutions.get((*group, sample))
            for a, t in enumerate(names):
                row[f"b{i}_{a}"] = float(sol.params.get(t, 0.0)) if sol else 0.0
            for f in fixed_effects:
                effects = sol.level_effects[f] if sol else None
                if effects is None:
                    continue
                for level, values in effects.iterrows():
                    record = level_rows[f].setdefault(
                        (*group, level), {**dict(zip(by, group, strict=True)), f: level}
                    )
                    record[f"g{i}"] = float(values["gamma"])
                    for a, t in enumerate(names):
                        record[f"p{i}_{a}"] = float(values.get(f"pi_{t}", 0.0))
        coef_rows.append(row)
    columns = [f"g{i}" for i in range(len(samples))] + [
        f"p{i}_{a}" for i in range(len(samples)) for a in range(len(names))
    ]
    levels = {
        f: pd.DataFrame(list(rows.values()))
        .reindex(columns=[*by, f, *columns])
        .fillna({c: 0.0 for c in columns})
        for f, rows in level_rows.items()
    }
    return pd.DataFrame(coef_rows), levels


def cluster_meat(
    con: duckdb.DuckDBPyConnection,
    relation: str,
    solutions: Mapping[tuple, Solution],
    outcome: str,
    terms: Sequence[str],
    *,
    cluster: str,
    fixed_effects: Sequence[str] = (),
    weights: str | None = None,
    by: Sequence[str] = (),
    where: str | None = None,
    samples: Mapping[str, str] | None = None,
) -> dict[tuple, tuple[np.ndarray, int]]:
    """``sum_g s_g s_g'`` and the number of clusters ``G`` of each group's solution.

    A second pass over ``relation`` (the rows of :func:`normal_equations`): every row is
    joined to its group's coefficients and its levels' ``gamma`` and ``pi``, its score
    ``w e x~`` summed by cluster in DuckDB, and the products of the cluster sums summed
    by group. Returns, per solution, the meat in the order of its ``params`` and ``G``.

    ``samples`` (name -> SQL condition) fits overlapping samples within each group in
    the same pass (each row's score is computed for every sample it belongs to, without
    repeating the row); the solutions are then keyed ``(*group, sample)``.
    """
    by, fixed_effects = list(by), list(fixed_effects)
    if samples is None:
        solutions = {(*key, "_rows"): sol for key, sol in solutions.items()}
        plain = cluster_meat(
            con,
            relation,
            solutions,
            outcome,
            terms,
            cluster=cluster,
            fixed_effects=fixed_effects,
            weights=weights,
            by=by,
            where=where,
            samples={"_rows": "true"},
        )
        return {key[:-1]: value for key, value in plain.items()}
    names = [t for t in terms if any(t in s.params.index for s in solutions.values())]
    sample_names = list(samples)
    coefs, levels = _solution_tables(solutions, by, fixed_effects, sample_names, names)
    tag = next(_TEMP_NAMES)
    tables = {"c": f"_ne_coefs_{tag}", **{f: f"_ne_level_{tag}_{j}" for j, f in enumerate(levels)}}
    con.register(tables["c"], coefs)
    for f, table in levels.items():
        con.register(tables[f], table)
    w = f"CAST(r.{identifier(weights)} AS DOUBLE)" if weights else "1.0"
    y = f"CAST(r.{identifier(outcome)} AS DOUBLE)"
    t = [f"CAST(r.{identifier(x)} AS DOUBLE)" for x in names]
    n_fe = len(fixed_effects)
    row_terms, flags = [], []
    for i in range(len(samples)):
        fitted = (
            " + ".join(
                [f"c.b{i}_{a} * {t[a]}" for a in range(len(names))]
                + [f"l{j}.g{i}" for j in range(n_fe)]
            )
            or "0"
        )
        member = f"r._in{i}"
        # each row's weighted residual and net regressors, once (DuckDB does not share
        # subexpressions between aggregates)
        row_terms.append(f"CASE WHEN {member} THEN {w} * ({y} - ({fitted})) END AS e{i}")
        row_terms.append(f"{member} AS in_row{i}")
        flags.append(f"bool_or(in_row{i}) AS in{i}")
        for a in range(len(names)):
            tilde = t[a] + "".join(f" - l{j}.p{i}_{a}" for j in range(n_fe))
            row_terms.append(f"{tilde} AS x{i}_{a}")
    joins = [
        f"JOIN {tables['c']} c ON "
        + " AND ".join(f"c.{identifier(b)} = r.{identifier(b)}" for b in by)
        if by
        else f"CROSS JOIN {tables['c']} c"
    ]
    for j, f in enumerate(fixed_effects):
        on = [f"l{j}.{identifier(f)} = r.{identifier(f)}"] + [
            f"l{j}.{identifier(b)} = r.{identifier(b)}" for b in by
        ]
        joins.append(f"JOIN {tables[f]} l{j} ON " + " AND ".join(on))
    used = [outcome, *terms, *fixed_effects, *by, cluster] + ([weights] if weights else [])
    conditions = [f"r.{identifier(c)} IS NOT NULL" for c in dict.fromkeys(used)]
    # the filter and the samples' conditions see the relation's columns only
    members = ", ".join(f"({c}) AS _in{i}" for i, c in enumerate(samples.values()))
    source = f"(SELECT *, {members} FROM {relation}" + (f" WHERE {where})" if where else ")")
    keys = [
        *(f"r.{identifier(b)} AS {identifier(b)}" for b in by),
        f"r.{identifier(cluster)} AS _cluster",
    ]
    outer_by = ", ".join(identifier(b) for b in by)
    inner_by = ", ".join([*(identifier(b) for b in by), "_cluster"])

    def query(exact: FixedPoint) -> str:
        scores, products = [], []
        for i in range(len(samples)):
            for a in range(len(names)):
                scores.append(f"{exact.sum(f'e{i} * x{i}_{a}')} AS s{i}_{a}")
                for b in range(a, len(names)):
                    # score products grow with the weights squared (1e9 for a person
                    # with weights of thousands), out of FAST's range; one a cluster,
                    # so summing them wide costs little
                    product = WIDE.sum(f"s{i}_{a} * s{i}_{b}", where=f"in{i}")
                    products.append(f"{product} AS m{i}_{a}_{b}")
            products.append(f"count(*) FILTER (in{i}) AS clusters{i}")
        return (
            f"WITH rows AS (SELECT {', '.join([*keys, *row_terms])} "
            f"FROM {source} r {' '.join(joins)} "
            f"WHERE {' AND '.join(conditions)}), "
            f"scores AS (SELECT {', '.join([*(identifier(b) for b in by), *scores, *flags])} "
            f"FROM rows GROUP BY {inner_by}) "
            f"SELECT {', '.join([*(identifier(b) for b in by), *products])} "
            f"FROM scores" + (f" GROUP BY {outer_by}" if by else "")
        )

    try:
        table = _exactly(lambda exact: con.sql(query(exact)).df())
    finally:
        for name in tables.values():
            con.unregister(name)
    out: dict[tuple, tuple[np.ndarray, int]] = {}
    for _, row in table.iterrows():
        group = tuple(row[b] for b in by)
        for i, sample in enumerate(sample_names):
            try:
                key = _match_key(solutions, (*group, sample))
            except KeyError:
                continue
            meat = np.zeros((len(names), len(names)))
            for a in range(len(names)):
                for b in range(a, len(names)):
                    meat[a, b] = meat[b, a] = row[f"m{i}_{a}_{b}"]
            order = [names.index(x) for x in solutions[key].params.index]
            out[key] = (meat[np.ix_(order, order)], int(row[f"clusters{i}"]))
    return out


def _match_key(solutions: Mapping[tuple, Solution], key: tuple) -> tuple:
    """The solutions' key equal to ``key`` (DuckDB may return numpy scalars)."""
    if key in solutions:
        return key
    for candidate in solutions:
        if all(str(a) == str(b) for a, b in zip(candidate, key, strict=True)):
            return candidate
    raise KeyError(key)


def clustered_result(
    solution: Solution, meat: np.ndarray, clusters: int, cluster: str
) -> RegressionResult:
    """The CRV1 result of a solution: pyfixest's small-sample factor and ``G - 1``
    degrees of freedom. With fewer than two clusters or no residual degree of freedom
    the covariance is not identified: it is NaN (the estimate is kept)."""
    n, k, g = solution.n, solution.k, clusters
    if g < 2 or n <= k:
        cov = np.full((len(solution.params), len(solution.params)), np.nan)
    else:
        cov = sandwich(solution.bread, meat, crv1_factor(g, n, k))
    names = list(solution.params.index)
    return RegressionResult(
        params=solution.params,
        cov=pd.DataFrame(cov, index=names, columns=names),
        nobs=n,
        df_resid=float(g - 1),
        vcov_type=f"CRV1: {cluster}",
        estimator="normal equations in DuckDB (analysis.estimate.normal_equations)",
        info={"clusters": g, "dropped_collinear": solution.dropped, "k": k},
    )


def feols_by(
    con: duckdb.DuckDBPyConnection,
    relation: str,
    outcome: str,
    terms: Sequence[str],
    *,
    fixed_effects: Sequence[str] = (),
    weights: str | None = None,
    cluster: str,
    by: Sequence[str] = (),
    where: str | None = None,
) -> dict[tuple, RegressionResult]:
    """Weighted fixed-effects least squares by group, clustered by ``cluster``, out of core.

    Two passes over ``relation``: :func:`normal_equations` then :func:`cluster_meat`.

    Returns
    -------
    dict
        Group key -> :class:`~analysis.estimate.results.RegressionResult` of ``terms``
        (terms collinear with the fixed effects left out, listed in
        ``info["dropped_collinear"]``).
    """
    kwargs = {"fixed_effects": fixed_effects, "weights": weights, "by": by, "where": where}
    blocks = normal_equations(con, relation, outcome, terms, **kwargs)
    solutions = {key: solve(ne) for key, ne in blocks.items()}
    meats = cluster_meat(con, relation, solutions, outcome, terms, cluster=cluster, **kwargs)
    return {
        key: clustered_result(solutions[key], *meats[key], cluster=cluster) for key in solutions
    }
