"""The AI wage premium: log pay on an AI indicator, with controls and fixed effects.

The BOK's premium compares AI workers with non-AI workers "with the same job function,
education, industry, seniority, gender and others". :func:`estimate_premium` runs that
regression on any frame (a pyfixest formula, or any outcome, binary treatment, controls
and fixed effects; optional weights; any of pyfixest's covariance types) with pyfixest,
which absorbs high-dimensional fixed effects by alternating projections and is the
fastest exact in-memory estimator we measured (linearmodels' AbsorbingLS and
statsmodels with dummies give the same numbers and serve as independent references in
the tests). :func:`premium_by` repeats it by country, year or any grouping;
:func:`premium_by_skill` compares holders of one AI skill cluster with non-AI workers.

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
>>> res = estimate_premium(df, "log_salary ~ ai | job", vcov={"CRV1": "pid"})
>>> round(res.premium_pct, 0)
25.0
>>> res.vcov_type, res.fixed_effects, res.info["clusters"]
('CRV1: pid', ('job',), 2000)
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyfixest as pf

from analysis.errors import ArgumentError, EstimationDataError
from analysis.estimate.checks import (
    as_columns,
    check_binary,
    check_frame,
    check_vcov,
    formula_columns,
    require_columns,
    split_formula,
)
from analysis.estimate.covariance import log_points_to_percent
from analysis.estimate.results import RegressionResult, describe_vcov

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


def _model_columns(kwargs: Mapping[str, object], *extra: str) -> list[str]:
    """The columns :func:`estimate_premium` uses with these keyword arguments."""
    spec = premium_specification(None, **kwargs)  # type: ignore[arg-type]
    return list(dict.fromkeys([*extra, *spec.columns]))


def _model_frame(data: pd.DataFrame, columns: Sequence[str], codes: Sequence[str]) -> pd.DataFrame:
    """``data[columns]`` with the text columns of ``codes`` (fixed effects) replaced by
    integer codes of the same groups: pyfixest groups them faster and the estimates
    are the same (columns with missing values are kept as they are)."""
    frame = data[[c for c in columns if c in data.columns]].copy()
    for col in codes:
        if col in frame and frame[col].dtype == object and not frame[col].isna().any():
            frame[col] = pd.factorize(frame[col])[0]
    return frame


@dataclass(repr=False)
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


def premium_formula(outcome: str, terms: Sequence[str], fixed_effects: Sequence[str] = ()) -> str:
    """The pyfixest formula ``outcome ~ terms | fixed effects``."""
    rhs = " + ".join(terms)
    return f"{outcome} ~ {rhs}" + (f" | {' + '.join(fixed_effects)}" if fixed_effects else "")


def fit_feols(
    data: pd.DataFrame,
    formula: str,
    *,
    weights: str | None = None,
    vcov: str | Mapping[str, str] = "iid",
    demeaner: object | None = None,
    function: str = "fit_feols",
) -> tuple[RegressionResult, object]:
    """Fit a pyfixest formula and wrap it as a :class:`RegressionResult`.

    Rows with a missing value in any column the formula, the weights or the clusters
    use are dropped first and counted in ``info["dropped_missing"]``; singleton
    fixed-effect cells that pyfixest drops are counted in ``info["dropped_singletons"]``.
    Terms pyfixest drops as collinear are listed in ``info["dropped_collinear"]`` and
    every other pyfixest warning in ``info["warnings"]``; both are also raised as
    warnings. ``demeaner`` is passed to pyfixest (``None``: its default; see
    :func:`exact_demeaner`).

    Raises
    ------
    EstimationDataError
        When every regressor is collinear with the fixed effects.
    """
    check_frame(data, function)
    clusters = check_vcov(vcov, data, function)
    if weights is not None:
        require_columns(data, {"weights": [weights]}, function)
    used = [*formula_columns(formula, data), *([weights] if weights else []), *clusters]
    frame = data[list(dict.fromkeys(used))]
    complete = frame.dropna()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            fit = pf.feols(
                formula,
                data=complete,
                weights=weights,
                vcov=dict(vcov) if isinstance(vcov, Mapping) else vcov,
                **({"demeaner": demeaner} if demeaner is not None else {}),
            )
        except ValueError as exc:
            if "collinear" in str(exc):
                raise EstimationDataError(
                    f"{function}: every regressor of {formula!r} is collinear with the "
                    "fixed effects (absorbed): nothing is left to estimate"
                ) from None
            raise
    messages = [" ".join(str(w.message).split()) for w in caught]
    singletons = sum(
        int(m.split()[0]) for m in messages if "singleton" in m and m.split()[0].isdigit()
    )
    other = [m for m in messages if "singleton" not in m]
    names = [str(n) for n in fit.coef().index]
    requested = split_formula(formula, function)[1]
    dropped = [t for t in requested if t in complete.columns and t not in names]
    for message in other:
        warnings.warn(f"{function}: pyfixest: {message}", UserWarning, stacklevel=3)
    info: dict[str, object] = {
        "formula": formula,
        "dropped_missing": int(len(frame) - len(complete)),
        "dropped_singletons": singletons,
    }
    if dropped:
        info["dropped_collinear"] = dropped
    if other:
        info["warnings"] = other
    if clusters:
        info["cluster"] = " + ".join(clusters)
        info["clusters"] = int(min(complete[c].nunique() for c in clusters))
    lhs, _, fixed = split_formula(formula, function)
    result = RegressionResult.from_pyfixest(
        fit,
        vcov_type=describe_vcov(vcov),
        estimator="pyfixest.feols",
        info=info,
        depvar=lhs,
        weights=weights,
        fixed_effects=tuple(fixed),
    )
    return result, fit


@dataclass(frozen=True)
class PremiumSpecification:
    """A premium regression, checked: its formula, treatment and the columns it uses."""

    formula: str
    outcome: str
    treatment: str
    fixed_effects: tuple[str, ...]
    weights: str | None
    vcov: str | Mapping[str, str]
    columns: tuple[str, ...]


def premium_specification(
    data: pd.DataFrame | None,
    formula: str | None = None,
    *,
    outcome: str | None = None,
    treatment: str | None = None,
    controls: str | Sequence[str] | None = (),
    fixed_effects: str | Sequence[str] | None = (),
    weights: str | None = None,
    vcov: str | Mapping[str, str] = "iid",
    demeaner: object | None = None,
    function: str = "estimate_premium",
) -> PremiumSpecification:
    """Check :func:`estimate_premium`'s arguments (against ``data`` when given) and
    return the regression they describe."""
    controls_list = as_columns(controls, "controls")
    fixed_list = as_columns(fixed_effects, "fixed_effects")
    if formula is not None:
        if outcome is not None or controls_list or fixed_list:
            raise ArgumentError(
                f"{function}: give a formula or outcome/controls/fixed_effects, not both"
            )
        outcome, terms, fixed_list = split_formula(formula, function)
        treatment = terms[0] if treatment is None else treatment
        if treatment not in terms:
            raise ArgumentError(f"{function}: treatment {treatment!r} is not a term of {formula!r}")
    else:
        if outcome is None or treatment is None:
            raise ArgumentError(
                f"{function}: name the outcome and the treatment (outcome=..., "
                "treatment=...) or give a formula 'outcome ~ treatment + controls | fe'"
            )
        for name, value in (("outcome", outcome), ("treatment", treatment)):
            if not isinstance(value, str):
                raise ArgumentError(f"{function}: {name} must be a column name, got {value!r}")
        terms = [treatment, *controls_list]
        formula = premium_formula(outcome, terms, fixed_list)
    if weights is not None and not isinstance(weights, str):
        raise ArgumentError(f"{function}: weights must be a column name or None, got {weights!r}")
    columns = [outcome, treatment, *controls_list, *fixed_list, *([weights] if weights else [])]
    if data is not None:
        check_frame(data, function)
        required = {"outcome": [outcome], "treatment": [treatment], "controls": controls_list}
        required |= {"fixed_effects": fixed_list, "weights": [weights] if weights else []}
        require_columns(data, required, function)
        columns += check_vcov(vcov, data, function)
        columns += formula_columns(formula, data)
        check_binary(data, treatment, "treatment", function)
    elif isinstance(vcov, Mapping):
        columns += [c for v in vcov.values() for c in as_columns(v, "vcov")]
    return PremiumSpecification(
        formula=formula,
        outcome=outcome,
        treatment=treatment,
        fixed_effects=tuple(fixed_list),
        weights=weights,
        vcov=vcov,
        columns=tuple(dict.fromkeys(columns)),
    )


def estimate_premium(
    data: pd.DataFrame,
    formula: str | None = None,
    *,
    outcome: str | None = None,
    treatment: str | None = None,
    controls: str | Sequence[str] | None = (),
    fixed_effects: str | Sequence[str] | None = (),
    weights: str | None = None,
    vcov: str | Mapping[str, str] = "iid",
    demeaner: object | None = None,
) -> PremiumResult:
    """The premium of a binary treatment: regress an outcome on it, with controls and
    fixed effects (pyfixest).

    Give the model as a pyfixest formula, ``"lwage ~ union + educ | year"`` (``C()``,
    ``i()`` and interaction terms work as in pyfixest; the treatment is the first term
    unless ``treatment=`` names another), or as ``outcome=``, ``treatment=``,
    ``controls=`` and ``fixed_effects=``.

    Parameters
    ----------
    data
        Any frame (one row per person-year in our panel).
    formula
        ``"outcome ~ treatment + controls | fixed effects"``.
    outcome, treatment, controls, fixed_effects
        The same as column names, when no formula is given. The treatment must be
        0/1 or boolean; controls and fixed effects are a name, ``"a + b"`` or a list.
    weights
        Analytic weights column (default: unweighted).
    vcov
        ``"iid"`` (default), ``"hetero"``, ``"HC1"``-``"HC3"``, ``{"CRV1": "col"}`` or a
        multiway ``{"CRV1": "col1 + col2"}``.
    demeaner
        pyfixest demeaner for the fixed effects (``None``: pyfixest's default); see
        :func:`exact_demeaner`.

    Returns
    -------
    PremiumResult
        With the outcome, weights, fixed effects and covariance type recorded; rows
        dropped for missing values are counted in ``info``.

    Raises
    ------
    analysis.errors.ArgumentError
        A column that is not in ``data``, a treatment that is not binary, an argument of
        the wrong type.
    analysis.errors.EstimationDataError
        A treatment absorbed by the fixed effects or collinear with the controls.

    Examples
    --------
    >>> import pandas as pd
    >>> from linearmodels.datasets import wage_panel
    >>> df = wage_panel.load()
    >>> res = estimate_premium(df, "lwage ~ union + educ + black + hisp + exper + expersq"
    ...                        " + married + C(year)")
    >>> round(res.estimate, 6), round(res.std_error, 3)
    (0.182461, 0.017)
    """
    spec = premium_specification(
        data,
        formula,
        outcome=outcome,
        treatment=treatment,
        controls=controls,
        fixed_effects=fixed_effects,
        weights=weights,
        vcov=vcov,
    )
    frame = data[list(spec.columns)].copy()  # only the columns the model uses
    frame[spec.treatment] = frame[spec.treatment].astype(float)
    try:
        base, _ = fit_feols(
            frame,
            spec.formula,
            weights=spec.weights,
            vcov=spec.vcov,
            demeaner=demeaner,
            function="estimate_premium",
        )
    except EstimationDataError:
        base = None
    if base is None or spec.treatment not in base.params.index:
        raise EstimationDataError(
            f"estimate_premium: treatment {spec.treatment!r} is absorbed by the fixed "
            f"effects or collinear with the controls in {spec.formula!r} (pyfixest "
            "dropped it)"
        )
    return PremiumResult(**base.__dict__, treatment=spec.treatment)


def _group_rows(data: pd.DataFrame, by: Sequence[str]) -> Iterable[tuple[tuple, pd.DataFrame]]:
    for key, group in data.groupby(list(by), sort=True, observed=True, dropna=True):
        yield (key if isinstance(key, tuple) else (key,)), group


def _bind_premium_arguments(function: str, kwargs: Mapping[str, object]) -> None:
    """A keyword :func:`estimate_premium` does not take is an error before any fit."""
    try:
        inspect.signature(estimate_premium).bind(None, **kwargs)
    except TypeError as exc:
        raise ArgumentError(f"{function}: {exc} (the keywords of estimate_premium)") from None


def premium_by(
    data: pd.DataFrame,
    by: str | Sequence[str],
    formula: str | None = None,
    *,
    level: float = 0.95,
    min_treated: int = 2,
    **kwargs: object,
) -> pd.DataFrame:
    """:func:`estimate_premium` in every group of ``by``; a tidy table, one row a group.

    The arguments are checked once, on the whole frame: a keyword
    :func:`estimate_premium` does not take, a missing column or a non-binary treatment
    is an error. A group in which the premium cannot be estimated (the treatment does
    not vary, fewer than ``min_treated`` treated rows, a treatment absorbed by the
    fixed effects) gets a row with missing estimates and a ``note`` saying why, so
    nothing is dropped silently.

    Returns
    -------
    DataFrame
        ``by`` columns, ``estimate`` (log points), ``std_error``, ``conf_low``,
        ``conf_high``, ``premium_pct``, ``premium_se``, ``premium_conf_low``,
        ``premium_conf_high``, ``nobs``, ``n_treated``, ``note``.

    Examples
    --------
    >>> from linearmodels.datasets import wage_panel
    >>> df = wage_panel.load()
    >>> table = premium_by(df, "black", "lwage ~ union + educ + exper", vcov="hetero")
    >>> table[["black", "nobs"]].to_dict("records")
    [{'black': 0, 'nobs': 3856}, {'black': 1, 'nobs': 504}]
    """
    _bind_premium_arguments("premium_by", kwargs)
    by = as_columns(by, "by")
    check_frame(data, "premium_by")
    require_columns(data, {"by": by}, "premium_by")
    spec = premium_specification(data, formula, function="premium_by", **kwargs)  # type: ignore[arg-type]
    data = _model_frame(
        data,
        list(dict.fromkeys([*by, *spec.columns])),
        [c for c in spec.fixed_effects if c not in by],
    )
    fit_kwargs = {k: v for k, v in kwargs.items() if k != "treatment"}
    rows = [
        _premium_row(
            dict(zip(by, key, strict=True)),
            treated=int(group[spec.treatment].fillna(0).astype(bool).sum()),
            size=len(group),
            fit=lambda group=group: estimate_premium(
                group,
                formula,
                treatment=spec.treatment,
                **fit_kwargs,  # type: ignore[arg-type]
            ),
            treatment=spec.treatment,
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
    except ArgumentError:  # the caller's mistake, not the group's: stop
        raise
    except (EstimationDataError, ValueError, ArithmeticError, np.linalg.LinAlgError) as exc:
        # a group the model cannot be fitted on: say why
        row.update(nobs=size, note=f"not estimable: {' '.join(str(exc).split())}")
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
    the treatment is ``s``. The other arguments are :func:`estimate_premium`'s
    keywords (``outcome=``, ``controls=``, ``fixed_effects=``, ``weights=``,
    ``vcov=``); the treatment is each skill in turn. Returns :func:`premium_by`'s
    columns with ``skill`` first.
    """
    for taken in ("formula", "treatment"):
        if taken in kwargs:
            raise ArgumentError(
                f"premium_by_skill: {taken}= is not taken (the treatment is each skill "
                "in turn); give outcome=, controls= and fixed_effects="
            )
    _bind_premium_arguments("premium_by_skill", kwargs)
    skills = as_columns(skills, "skills")
    check_frame(data, "premium_by_skill")
    require_columns(data, {"skills": skills, "ai": [ai]}, "premium_by_skill")
    check_binary(data, ai, "ai", "premium_by_skill")
    spec = premium_specification(
        None,
        treatment=ai,
        function="premium_by_skill",
        **kwargs,  # type: ignore[arg-type]
    )
    # one lean copy (the model's columns, fixed effects as codes) instead of one per skill
    data = _model_frame(
        data, list(dict.fromkeys([ai, *skills, *spec.columns])), list(spec.fixed_effects)
    )
    non_ai = ~data[ai].fillna(False).astype(bool)
    rows = []
    for skill in skills:
        sample = data[non_ai | data[skill].fillna(False).astype(bool)].assign(_skill="all")
        table = premium_by(sample, "_skill", treatment=skill, **kwargs)
        rows.append(table.drop(columns="_skill").assign(skill=skill))
    out = pd.concat(rows, ignore_index=True)
    return out[["skill", *[c for c in out.columns if c != "skill"]]]
