"""The AI wage premium: log pay on an AI indicator, with controls and fixed effects.

The BOK's premium compares AI workers with non-AI workers "with the same job function,
education, industry, seniority, gender and others". :func:`estimate_premium` runs that
regression on any frame (any outcome, any binary treatment, any controls, fixed
effects, weights and clustering) with pyfixest, which absorbs high-dimensional fixed
effects by alternating projections and is the fastest exact in-memory estimator we
measured (linearmodels' AbsorbingLS and statsmodels with dummies give the same numbers
and serve as independent references in the tests). :func:`premium_by` repeats it by
country, year or any grouping; :func:`premium_by_skill` compares holders of one AI
skill cluster with non-AI workers.

Premiums are reported in log points and as a percentage, ``100 * (exp(b) - 1)``, with a
delta-method standard error ``100 * exp(b) * se(b)`` and interval.

Examples
--------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> n = 4000
>>> df = pd.DataFrame({"ai": rng.integers(0, 2, n), "job": rng.integers(0, 5, n),
...                    "pid": np.arange(n) // 2})
>>> df["log_salary"] = 10 + np.log(1.25) * df["ai"] + 0.1 * df["job"] + rng.normal(0, .3, n)
>>> res = estimate_premium(df, fixed_effects=["job"], weights=None, cluster="pid")
>>> round(res.premium_pct, 0)
25.0
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyfixest as pf
from scipy import stats

from analysis.estimate.results import RegressionResult

#: The BOK's controls, as fixed effects on our panel's columns.
DEFAULT_FIXED_EFFECTS: tuple[str, ...] = (
    "seniority",
    "job_category",
    "highest_degree",
    "sex",
    "year",
)

#: Convergence tolerance of :func:`exact_demeaner`.
EXACT_FIXEF_TOL = 1e-12


def exact_demeaner(tol: float = EXACT_FIXEF_TOL) -> object:
    """A pyfixest demeaner that solves the fixed-effect projection to ``tol``.

    pyfixest's default demeaner (alternating projections, stopped when an iteration
    changes the data by less than 1e-6) is slow to converge on many crossed fixed
    effects such as our eight controls, and where it stops early the clustered
    standard errors of small groups are off by up to about 1% (and vary from run to
    run). The preconditioned LSMR solver of pyfixest (``LsmrDemeaner(backend="within")``)
    reaches ``tol`` in a few iterations, so its results equal the dummy-variable
    regression to about ``tol`` and it is faster. Pass it as ``demeaner=`` to
    :func:`fit_feols`, :func:`estimate_premium`, :func:`premium_by` or
    :func:`premium_by_skill`.
    """
    from pyfixest.demeaners import LsmrDemeaner

    return LsmrDemeaner(backend="within", fixef_atol=tol, fixef_btol=tol)


def _options(kwargs: dict[str, object]) -> dict[str, object]:
    """:func:`estimate_premium`'s keyword arguments, its defaults filled in."""
    defaults = {
        name: p.default
        for name, p in inspect.signature(estimate_premium).parameters.items()
        if p.default is not inspect.Parameter.empty
    }
    return {**defaults, **kwargs}


def _model_columns(kwargs: dict[str, object], *extra: str) -> list[str]:
    """The columns :func:`estimate_premium` uses with these keyword arguments."""
    opts = _options(kwargs)
    columns = [
        *extra,
        opts["outcome"],
        opts["treatment"],
        *opts["controls"],  # type: ignore[misc]
        *opts["fixed_effects"],  # type: ignore[misc]
        *[c for c in (opts["weights"], opts["cluster"]) if c],
    ]
    return list(dict.fromkeys(str(c) for c in columns))


def _model_frame(data: pd.DataFrame, columns: Sequence[str], codes: Sequence[str]) -> pd.DataFrame:
    """``data[columns]`` with the text columns of ``codes`` (fixed effects) replaced by
    integer codes of the same groups: pyfixest groups them faster and the estimates
    are the same (columns with missing values are kept as they are)."""
    frame = data[[c for c in columns if c in data.columns]].copy()
    for col in codes:
        if col in frame and frame[col].dtype == object and not frame[col].isna().any():
            frame[col] = pd.factorize(frame[col])[0]
    return frame


def log_points_to_percent(
    estimate: float | np.ndarray, std_error: float | np.ndarray, level: float = 0.95
) -> dict[str, float | np.ndarray]:
    """Turn a log-point coefficient into a percentage with a delta-method interval.

    Parameters
    ----------
    estimate, std_error
        Coefficient ``b`` and its standard error, in log points.
    level
        Confidence level of the interval.

    Returns
    -------
    dict
        ``premium_pct = 100 (exp(b) - 1)``, ``premium_se = 100 exp(b) se``, and
        ``premium_conf_low/high = premium_pct -/+ z * premium_se``.

    Examples
    --------
    >>> out = log_points_to_percent(np.log(1.06), 0.01)
    >>> round(out["premium_pct"], 3), round(out["premium_se"], 3)
    (6.0, 1.06)
    """
    b = np.asarray(estimate, dtype=float)
    se = np.asarray(std_error, dtype=float)
    pct = 100.0 * np.expm1(b)
    pct_se = 100.0 * np.exp(b) * se
    z = stats.norm.ppf(0.5 + level / 2)
    out = {
        "premium_pct": pct,
        "premium_se": pct_se,
        "premium_conf_low": pct - z * pct_se,
        "premium_conf_high": pct + z * pct_se,
    }
    if np.ndim(estimate) == 0:
        return {k: float(v) for k, v in out.items()}
    return out


@dataclass
class PremiumResult(RegressionResult):
    """A premium regression: the coefficient on ``treatment`` and its percentage form."""

    treatment: str = "ai"

    @property
    def estimate(self) -> float:
        return float(self.params[self.treatment])

    @property
    def std_error(self) -> float:
        return float(self.std_errors[self.treatment])

    @property
    def premium_pct(self) -> float:
        return 100.0 * float(np.expm1(self.estimate))

    def premium(self, level: float = 0.95) -> dict[str, float]:
        """Percentage premium with its delta-method standard error and interval."""
        return log_points_to_percent(self.estimate, self.std_error, level)

    def tidy(self, level: float = 0.95) -> pd.DataFrame:
        table = super().tidy(level)
        pct = log_points_to_percent(
            table["estimate"].to_numpy(), table["std_error"].to_numpy(), level
        )
        for key, values in pct.items():
            table[key] = values
        return table


def _formula(outcome: str, terms: Sequence[str], fixed_effects: Sequence[str]) -> str:
    rhs = " + ".join(terms)
    return f"{outcome} ~ {rhs}" + (f" | {' + '.join(fixed_effects)}" if fixed_effects else "")


def fit_feols(
    data: pd.DataFrame,
    outcome: str,
    terms: Sequence[str],
    *,
    fixed_effects: Sequence[str] = (),
    weights: str | None = None,
    cluster: str | None = None,
    vcov: str | None = None,
    demeaner: object | None = None,
) -> tuple[RegressionResult, object]:
    """Fit a linear model with pyfixest and wrap it as a :class:`RegressionResult`.

    Rows with a missing value in any column used are dropped (pyfixest's rule); the
    count is kept in ``info["dropped_missing"]``. Singleton fixed-effect cells are
    dropped too (as fixest does), counted in ``info["dropped_singletons"]``.
    ``demeaner`` is passed to pyfixest (``None``: its default, alternating projections
    to a tolerance of 1e-6; see :func:`exact_demeaner`).
    """
    used = [outcome, *terms, *fixed_effects] + [c for c in (weights, cluster) if c]
    frame = data[list(dict.fromkeys(used))]
    complete = frame.dropna()
    if vcov is None:
        vcov_arg: object = {"CRV1": cluster} if cluster else "hetero"
    else:
        vcov_arg = vcov
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = pf.feols(
            _formula(outcome, terms, fixed_effects),
            data=complete,
            weights=weights,
            vcov=vcov_arg,
            **({"demeaner": demeaner} if demeaner is not None else {}),
        )
    singletons = sum(
        int(str(w.message).split()[0])
        for w in caught
        if "singleton" in str(w.message) and str(w.message).split()[0].isdigit()
    )
    names = list(fit.coef().index)
    cov = pd.DataFrame(np.asarray(fit._vcov), index=names, columns=names)
    vcov_type = f"cluster: {cluster}" if cluster and vcov is None else str(vcov_arg)
    result = RegressionResult(
        params=fit.coef().astype(float),
        cov=cov,
        nobs=int(fit._N),
        df_resid=float(fit._df_t),
        vcov_type=vcov_type,
        estimator="pyfixest.feols",
        info={
            "formula": fit._fml,
            "dropped_missing": int(len(frame) - len(complete)),
            "dropped_singletons": singletons,
            **({"clusters": int(fit._G[0])} if cluster and vcov is None else {}),
        },
    )
    return result, fit


def estimate_premium(
    data: pd.DataFrame,
    *,
    outcome: str = "log_salary",
    treatment: str = "ai",
    controls: Sequence[str] = (),
    fixed_effects: Sequence[str] = DEFAULT_FIXED_EFFECTS,
    weights: str | None = "weight",
    cluster: str | None = "user_id",
    demeaner: object | None = None,
) -> PremiumResult:
    """Regress ``outcome`` on a binary ``treatment`` with controls and fixed effects.

    Parameters
    ----------
    data
        Any frame (one row per person-year in our panel).
    outcome
        Log pay (or any outcome).
    treatment
        A 0/1 or boolean column: the premium is its coefficient.
    controls
        Other regressors (entered linearly).
    fixed_effects
        Categorical columns absorbed as fixed effects.
    weights
        Analytic weights column (``None`` for unweighted).
    cluster
        Column to cluster standard errors by (``None``: heteroskedasticity-robust).
    demeaner
        pyfixest demeaner for the fixed effects (``None``: pyfixest's default); see
        :func:`exact_demeaner`.
    Returns
    -------
    PremiumResult
    """
    used = [outcome, treatment, *controls, *fixed_effects] + [c for c in (weights, cluster) if c]
    frame = data[list(dict.fromkeys(used))].copy()  # only the columns the model uses
    frame[treatment] = frame[treatment].astype(float)
    base, _ = fit_feols(
        frame,
        outcome,
        [treatment, *controls],
        fixed_effects=fixed_effects,
        weights=weights,
        cluster=cluster,
        demeaner=demeaner,
    )
    return PremiumResult(**base.__dict__, treatment=treatment)


def _group_rows(data: pd.DataFrame, by: Sequence[str]) -> Iterable[tuple[tuple, pd.DataFrame]]:
    for key, group in data.groupby(list(by), sort=True, observed=True, dropna=True):
        yield (key if isinstance(key, tuple) else (key,)), group


def premium_by(
    data: pd.DataFrame,
    by: str | Sequence[str],
    *,
    level: float = 0.95,
    min_treated: int = 2,
    **kwargs: object,
) -> pd.DataFrame:
    """:func:`estimate_premium` in every group of ``by``; a tidy table, one row a group.

    Groups where the treatment does not vary (or has fewer than ``min_treated``
    treated rows) get a row with missing estimates and a ``note``, so nothing is
    dropped silently.

    Returns
    -------
    DataFrame
        ``by`` columns, ``estimate`` (log points), ``std_error``, ``conf_low``,
        ``conf_high``, ``premium_pct``, ``premium_se``, ``premium_conf_low``,
        ``premium_conf_high``, ``nobs``, ``n_treated``, ``note``.
    """
    by = [by] if isinstance(by, str) else list(by)
    treatment = str(kwargs.get("treatment", "ai"))
    fixed_effects = kwargs.get("fixed_effects", DEFAULT_FIXED_EFFECTS)
    data = _model_frame(
        data,
        _model_columns(kwargs, *by),
        [c for c in fixed_effects if c not in by],  # type: ignore[union-attr]
    )
    rows = [
        _premium_row(
            dict(zip(by, key, strict=True)),
            treated=int(group[treatment].astype(bool).sum()),
            size=len(group),
            fit=lambda group=group: estimate_premium(group, **kwargs),  # type: ignore[arg-type]
            treatment=treatment,
            level=level,
            min_treated=min_treated,
        )
        for key, group in _group_rows(data, by)
    ]
    return _premium_table(rows, by)


_PREMIUM_COLUMNS = [
    "estimate",
    "std_error",
    "conf_low",
    "conf_high",
    "premium_pct",
    "premium_se",
    "premium_conf_low",
    "premium_conf_high",
    "nobs",
    "n_treated",
    "note",
]


def _premium_row(
    row: dict[str, object],
    *,
    treated: int,
    size: int,
    fit: Callable[[], PremiumResult],
    treatment: str,
    level: float,
    min_treated: int,
) -> dict[str, object]:
    """One row of :func:`premium_by`: the premium of a group, or why there is none."""
    row["n_treated"] = treated
    if treated < min_treated or treated == size:
        row.update(nobs=size, note="treatment does not vary")
        return row
    try:
        res = fit()
    except Exception as exc:  # a group the model cannot be fitted on: say why
        row.update(nobs=size, note=f"not estimable: {exc}")
        return row
    tidy = res.tidy(level).set_index("term").loc[treatment]
    row.update({c: tidy[c] for c in _PREMIUM_COLUMNS[:8]})
    row.update(nobs=res.nobs, note="")
    return row


def _premium_table(rows: list[dict[str, object]], by: Sequence[str]) -> pd.DataFrame:
    return pd.DataFrame(rows).reindex(columns=[*by, *_PREMIUM_COLUMNS])


def premium_by_skill(
    data: pd.DataFrame,
    skills: Sequence[str],
    *,
    ai: str = "ai",
    **kwargs: object,
) -> pd.DataFrame:
    """Premium of each skill cluster: its holders against non-AI workers.

    For skill column ``s``, the sample is the rows that are not AI or hold ``s``, and
    the treatment is ``s``. Returns :func:`premium_by`'s columns with ``skill`` first.
    """
    opts = _options(kwargs)
    fixed_effects = list(opts["fixed_effects"])  # type: ignore[call-overload]
    # one lean copy (the model's columns, fixed effects as codes) instead of one per skill
    data = _model_frame(data, _model_columns(kwargs, ai, *skills), fixed_effects)
    non_ai = ~data[ai].astype(bool)
    rows = []
    for skill in skills:
        sample = data[non_ai | data[skill].astype(bool)].assign(_skill="all")
        table = premium_by(sample, "_skill", treatment=skill, **kwargs)
        rows.append(table.drop(columns="_skill").assign(skill=skill))
    out = pd.concat(rows, ignore_index=True)
    return out[["skill", *[c for c in out.columns if c != "skill"]]]
