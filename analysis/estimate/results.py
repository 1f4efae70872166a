"""One results family for every estimator, shaped like linearmodels' and pyfixest's.

:class:`RegressionResult` holds coefficients, their covariance and how they were made
(estimator, outcome, weights, fixed effects, covariance type), and offers what an
applied economist expects of a fitted model:

- ``params``, ``std_errors`` (``bse``), ``tstats``, ``pvalues``, ``conf_int()``;
- ``tidy()``: one row per term, the machine-readable form every report table is built
  from, so each number can be traced to the estimator that produced it;
- ``summary()``: a :class:`Summary` with ``as_text()``, ``as_html()`` and
  ``as_latex()`` (and a rich display in notebooks, as is the result itself);
- ``wald_test()``: joint linear restrictions, by matrix or by formula, returning
  linearmodels' :class:`~linearmodels.shared.hypotheses.WaldTestStatistic`;
- the `maketables <https://github.com/py-econometrics/maketables>`_ plug-in
  attributes, so results go into :func:`etable` (maketables' ``ETable``, the engine
  behind ``pyfixest.etable``) next to pyfixest and linearmodels models.

The package's other fitted models keep what is their own (a logit's design, the mobility
model's cells and rates, the skill-set premiums of several countries) and join the family
through two protocols:

- :class:`Fitted` (one fit: ``LogitFit``, ``MobilityModel``): ``result()`` returns its
  coefficients as a :class:`RegressionResult`; ``summary()`` and ``tidy()`` are that
  result's;
- :class:`FittedSet` (several fits of one question: ``ModelSet``, ``SkillPay``, one
  per country): ``models`` maps a label to a :class:`RegressionResult`; ``summary()``
  shows them all.

Examples
--------
>>> import numpy as np, pandas as pd
>>> from analysis.estimate.results import RegressionResult
>>> res = RegressionResult(params=pd.Series({"x": 0.5, "z": 0.1}),
...     cov=pd.DataFrame(np.diag([0.01, 0.04]), index=["x", "z"], columns=["x", "z"]),
...     nobs=100, df_resid=98, vcov_type="iid", estimator="example", depvar="y")
>>> res.tidy()[["term", "estimate", "std_error"]].to_dict("records")[0]
{'term': 'x', 'estimate': 0.5, 'std_error': 0.1}
>>> float(res.wald_test(formula="x = 0").stat)
25.0
>>> print(res.summary().as_text().splitlines()[0])
example: y
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd
from scipy import stats

#: Columns of :meth:`RegressionResult.tidy` that :class:`Summary` shows, with labels.
SUMMARY_COLUMNS: dict[str, str] = {
    "estimate": "Estimate",
    "std_error": "Std. error",
    "statistic": "t / z",
    "p_value": "P > |t|",
    "conf_low": "Lower 95%",
    "conf_high": "Upper 95%",
}


def describe_vcov(vcov: object) -> str:
    """A short label of a covariance specification (``iid``, ``hetero``,
    ``CRV1: user_id``, ``CRV1: firm + year``)."""
    if isinstance(vcov, Mapping):
        return "; ".join(f"{kind}: {column}" for kind, column in vcov.items())
    return str(vcov)


class Summary:
    """A fitted model's summary: a header of model facts and a coefficient table.

    Like linearmodels' ``Summary``, it renders as text (``str``), HTML (notebooks) and
    LaTeX.

    Parameters
    ----------
    title
        First line (estimator and outcome).
    facts
        (label, value) pairs shown above the table.
    table
        One row per term (the index), columns already labelled.
    notes
        Lines shown under the table.
    """

    def __init__(
        self,
        title: str,
        facts: Sequence[tuple[str, str]],
        table: pd.DataFrame,
        notes: Sequence[str] = (),
    ) -> None:
        self.title = title
        self.facts = list(facts)
        self.table = table
        self.notes = list(notes)

    def _formatted(self) -> pd.DataFrame:
        return self.table.map(lambda v: f"{v:.4f}" if isinstance(v, float) else str(v))

    def as_text(self) -> str:
        """Plain text: title, facts two to a line, the table, notes."""
        facts = [f"{label}: {value}" for label, value in self.facts]
        lines = [self.title, "=" * max(len(self.title), 40)]
        for i in range(0, len(facts), 2):
            lines.append("   ".join(facts[i : i + 2]))
        lines.append("")
        lines.append(self._formatted().to_string())
        lines.extend(self.notes)
        return "\n".join(lines)

    def as_html(self) -> str:
        """An HTML fragment: a caption with the facts, and the table."""
        facts = "".join(
            f"<tr><th>{html.escape(label)}</th><td>{html.escape(value)}</td></tr>"
            for label, value in self.facts
        )
        notes = "".join(f"<p>{html.escape(n)}</p>" for n in self.notes)
        return (
            f"<div><p><strong>{html.escape(self.title)}</strong></p>"
            f"<table>{facts}</table>{self._formatted().to_html(escape=True)}{notes}</div>"
        )

    def as_latex(self) -> str:
        """A LaTeX ``tabular`` of the table, the facts and notes as a footnote."""
        styler = self._formatted().style.format(escape="latex")
        body = (
            styler.format_index(escape="latex", axis=0)
            .format_index(escape="latex", axis=1)
            .to_latex(hrules=True)
        )
        facts = "; ".join(f"{label}: {value}" for label, value in self.facts)
        notes = " ".join(self.notes)
        escape = str.maketrans({c: "\\" + c for c in "&%$#_{}"})
        return (
            f"% {self.title}\n{body}"
            + f"\\par\\footnotesize {facts.translate(escape)} {notes.translate(escape)}\n"
        )

    def __str__(self) -> str:
        return self.as_text()

    def __repr__(self) -> str:
        return self.as_text()

    def _repr_html_(self) -> str:
        return self.as_html()

    def _repr_latex_(self) -> str:
        return self.as_latex()


@dataclass(repr=False)
class RegressionResult:
    """Coefficients, their covariance and what is needed to make inference.

    Attributes
    ----------
    params
        Estimated coefficients, indexed by term.
    cov
        Their covariance matrix (same index and columns).
    nobs
        Observations used.
    df_resid
        Degrees of freedom of the t distribution used for intervals and p-values
        (``None``: use the normal distribution).
    vcov_type
        The covariance estimator: ``iid``, ``hetero``, ``CRV1: <column>``, ...
    estimator
        Which implementation produced the numbers (``pyfixest.feols``, ...).
    info
        Anything else worth keeping (formula, clusters, rows dropped, warnings).
    depvar
        The outcome.
    weights
        The weights column (``None``: unweighted).
    fixed_effects
        The fixed effects absorbed.
    """

    params: pd.Series
    cov: pd.DataFrame
    nobs: int
    df_resid: float | None
    vcov_type: str
    estimator: str
    info: dict[str, object] = field(default_factory=dict)
    depvar: str | None = None
    weights: str | None = None
    fixed_effects: tuple[str, ...] = ()

    @classmethod
    def from_pyfixest(
        cls,
        fit: Any,
        *,
        vcov_type: str,
        estimator: str,
        info: dict[str, object] | None = None,
        depvar: str | None = None,
        weights: str | None = None,
        fixed_effects: Sequence[str] = (),
    ) -> RegressionResult:
        """A fitted pyfixest model (``Feols``, ``Fepois``) as a result, refitting nothing.

        The one place the package reads a pyfixest fit: pyfixest 0.60 exposes the
        coefficients publicly (``coef()``) but the covariance matrix, the number of
        observations and the residual degrees of freedom only as the attributes
        ``_vcov``, ``_N`` and ``_df_t``; a pyfixest release that renames them breaks
        here, and nowhere else.
        """
        names = [str(n) for n in fit.coef().index]
        return cls(
            params=pd.Series(fit.coef().to_numpy(float), index=names),
            cov=pd.DataFrame(np.asarray(fit._vcov, dtype=float), index=names, columns=names),
            nobs=int(fit._N),
            df_resid=float(fit._df_t),
            vcov_type=vcov_type,
            estimator=estimator,
            info=dict(info or {}),
            depvar=depvar,
            weights=weights,
            fixed_effects=tuple(fixed_effects),
        )

    # ---- inference -----------------------------------------------------------------
    @property
    def std_errors(self) -> pd.Series:
        """Standard errors (square roots of the covariance diagonal)."""
        return pd.Series(
            np.sqrt(np.diag(self.cov.to_numpy())), index=self.params.index, name="std_error"
        )

    bse = std_errors  # statsmodels' name

    @property
    def tstats(self) -> pd.Series:
        return self.params / self.std_errors

    def _dist(self):
        return stats.norm if self.df_resid is None else stats.t(self.df_resid)

    @property
    def pvalues(self) -> pd.Series:
        return pd.Series(2 * self._dist().sf(np.abs(self.tstats)), index=self.params.index)

    def conf_int(self, level: float = 0.95) -> pd.DataFrame:
        """Confidence intervals, one row per term (``lower``, ``upper``)."""
        q = self._dist().ppf(0.5 + level / 2)
        se = self.std_errors
        return pd.DataFrame({"lower": self.params - q * se, "upper": self.params + q * se})

    def tidy(self, level: float = 0.95) -> pd.DataFrame:
        """One row per term: estimate, standard error, statistic, p-value, interval."""
        dist = self._dist()
        params = self.params.to_numpy()
        se = np.sqrt(np.diag(self.cov.to_numpy()))
        statistic = params / se
        q = dist.ppf(0.5 + level / 2)
        return pd.DataFrame(
            {
                "term": self.params.index,
                "estimate": params,
                "std_error": se,
                "statistic": statistic,
                "p_value": 2 * dist.sf(np.abs(statistic)),
                "conf_low": params - q * se,
                "conf_high": params + q * se,
                "nobs": self.nobs,
                "vcov": self.vcov_type,
            }
        )

    def wald_test(
        self,
        restriction: np.ndarray | pd.DataFrame | None = None,
        value: np.ndarray | Sequence[float] | None = None,
        *,
        formula: str | Sequence[str] | None = None,
    ):
        """Wald test of the linear restrictions ``restriction @ params = value``.

        Parameters
        ----------
        restriction
            q x k matrix (columns in the order of ``params``, or a DataFrame with the
            terms as columns).
        value
            The q right-hand sides (default zeros).
        formula
            Instead of a matrix: restrictions as text over the term names, such as
            ``"ai = 0"`` or ``["x1 = x2", "x3 = 0"]`` (one string may hold several,
            separated by commas).

        Returns
        -------
        linearmodels.shared.hypotheses.WaldTestStatistic
            chi-square(q), or F(q, df_resid) when the result has residual degrees of
            freedom (the statistic then is the chi-square one divided by q).
        """
        from linearmodels.shared.hypotheses import WaldTestStatistic

        names = list(self.params.index)
        if (restriction is None) == (formula is None):
            raise ValueError("give either restriction (a matrix) or formula, not both")
        if formula is not None:
            matrix, rhs, null = _parse_restrictions(formula, names)
        else:
            if isinstance(restriction, pd.DataFrame):
                restriction = restriction.reindex(columns=names, fill_value=0.0).to_numpy()
            matrix = np.atleast_2d(np.asarray(restriction, dtype=float))
            if matrix.shape[1] != len(names):
                raise ValueError(
                    f"restriction has {matrix.shape[1]} columns; the model has "
                    f"{len(names)} terms: {names}"
                )
            rhs = np.zeros(len(matrix)) if value is None else np.asarray(value, dtype=float)
            null = "Linear equality constraint is valid"
        gap = matrix @ self.params.to_numpy() - rhs
        middle = matrix @ self.cov.to_numpy() @ matrix.T
        chi2 = float(gap @ np.linalg.solve(middle, gap))
        q = len(matrix)
        if self.df_resid is None:
            return WaldTestStatistic(chi2, null, q, name="Wald test")
        return WaldTestStatistic(chi2 / q, null, q, int(self.df_resid), name="Wald test")

    # ---- display ---------------------------------------------------------------------
    def _facts(self) -> list[tuple[str, str]]:
        facts = [
            ("Observations", f"{self.nobs:,}"),
            ("Covariance", self.vcov_type),
            ("Weights", self.weights or "none"),
            ("Fixed effects", " + ".join(self.fixed_effects) or "none"),
        ]
        for key in ("clusters", "dropped_missing", "dropped_singletons"):
            if key in self.info:
                facts.append((key.replace("_", " ").capitalize(), f"{self.info[key]:,}"))
        return facts

    def summary(self, level: float = 0.95) -> Summary:
        """The :class:`Summary` of the fit (``str()`` it, or display it in a notebook)."""
        table = self.tidy(level).set_index("term")[list(SUMMARY_COLUMNS)]
        table = table.rename(columns=SUMMARY_COLUMNS)
        table.index.name = None
        notes = [f"Warning: {w}" for w in self.info.get("warnings", ())]  # type: ignore[union-attr]
        return Summary(f"{self.estimator}: {self.depvar or 'outcome'}", self._facts(), table, notes)

    def __repr__(self) -> str:
        return f"{type(self).__name__}\n{self.summary().as_text()}"

    def _repr_html_(self) -> str:
        return self.summary().as_html()

    # ---- maketables plug-in (https://github.com/py-econometrics/maketables) -------------
    @property
    def __maketables_coef_table__(self) -> pd.DataFrame:
        table = self.tidy()
        return pd.DataFrame(
            {
                "b": table["estimate"].to_numpy(),
                "se": table["std_error"].to_numpy(),
                "t": table["statistic"].to_numpy(),
                "p": table["p_value"].to_numpy(),
                "ci95l": table["conf_low"].to_numpy(),
                "ci95u": table["conf_high"].to_numpy(),
            },
            index=pd.Index(table["term"], name="Coefficient"),
        )

    def __maketables_stat__(self, key: str) -> Any:
        return {
            "N": self.nobs,
            "se_type": self.vcov_type,
            "r2": self.info.get("r2"),
        }.get(key)

    @property
    def __maketables_depvar__(self) -> str:
        return self.depvar or "outcome"

    @property
    def __maketables_fixef_string__(self) -> str | None:
        return "+".join(self.fixed_effects) or None

    @property
    def __maketables_vcov_info__(self) -> dict[str, Any]:
        return {"vcov_type": self.vcov_type, "clustervar": self.info.get("cluster")}


@runtime_checkable
class Fitted(Protocol):
    """One fitted model of the family: its coefficients as a :class:`RegressionResult`."""

    def result(self) -> RegressionResult: ...

    def summary(self, level: float = 0.95) -> Summary: ...

    def tidy(self, level: float = 0.95) -> pd.DataFrame: ...


@runtime_checkable
class FittedSet(Protocol):
    """Several fits of one question, each a :class:`RegressionResult`, by label."""

    @property
    def models(self) -> Mapping[str, RegressionResult]: ...

    def summary(self, level: float = 0.95) -> str: ...


def summarize_set(models: Mapping[str, RegressionResult], level: float = 0.95) -> str:
    """The text summaries of ``models``, each under its label (:meth:`FittedSet.summary`)."""
    return "\n\n".join(f"[{k}]\n{v.summary(level)}" for k, v in models.items())


def _parse_restrictions(
    formula: str | Sequence[str], names: list[str]
) -> tuple[np.ndarray, np.ndarray, str]:
    """Restriction matrix, right-hand side and null statement of text restrictions.

    patsy parses the linear expressions; term names that are not Python identifiers
    (``C(year)[T.2020]``, ``year::2020``) are swapped for placeholders first, longest
    first, so every term of the model can be named.
    """
    from patsy import DesignInfo

    texts = [formula] if isinstance(formula, str) else list(formula)
    parts = [p.strip() for text in texts for p in text.split(",") if p.strip()]
    alias = {name: f"_term{i}" for i, name in enumerate(names)}
    pattern = re.compile("|".join(re.escape(n) for n in sorted(names, key=len, reverse=True)))
    rewritten = [pattern.sub(lambda m: alias[m.group(0)], p) for p in parts]
    try:
        constraint = DesignInfo(list(alias.values())).linear_constraint(rewritten)
    except Exception as exc:  # patsy's PatsyError names the offending text
        raise ValueError(
            f"cannot read the restrictions {parts}: {exc}; terms are {names}"
        ) from None
    return constraint.coefs, constraint.constants.ravel(), "; ".join(parts)


def etable(
    models: Sequence[object] | Mapping[str, object], type: str = "gt", **kwargs: object
) -> object:
    """A regression table of several models, as ``pyfixest.etable`` makes one.

    ``pyfixest.etable`` accepts pyfixest models only; this passes the models to the
    table engine behind it, ``maketables.ETable``, which takes this package's results
    (through their maketables plug-in attributes) next to pyfixest and linearmodels
    fits. Other keyword arguments are ``ETable``'s (``labels``, ``keep``, ``drop``,
    ``coef_fmt``, ``caption``, ...). A mapping names the columns by its keys.

    Parameters
    ----------
    models
        Fitted models, in column order.
    type
        ``"gt"`` (a great-tables table, the default, as in pyfixest), ``"html"``,
        ``"tex"``, ``"typst"``, or ``"df"`` (the table as a DataFrame).
    """
    import maketables

    if isinstance(models, Mapping):
        kwargs.setdefault("model_heads", list(models))
        models = list(models.values())
    table = maketables.ETable(list(models), **kwargs)
    return table.df if type == "df" else table.make(type=type)


def compare(models: Sequence[object] | Mapping[str, object]) -> pd.DataFrame:
    """Several results side by side (like ``linearmodels.compare``), as a DataFrame:
    estimate and standard error of every term, and each model's observations,
    covariance, weights and fixed effects. Takes this package's results (or anything
    with ``params``, ``std_errors``, ``nobs``)."""
    named = (
        dict(models)
        if isinstance(models, Mapping)
        else {f"({i})": m for i, m in enumerate(models, start=1)}
    )
    columns = {}
    for name, model in named.items():
        params, se = model.params, model.std_errors  # type: ignore[attr-defined]
        cells = {term: f"{params[term]:.4f} ({se[term]:.4f})" for term in params.index}
        cells["Observations"] = f"{model.nobs:,}"  # type: ignore[attr-defined]
        cells["Covariance"] = getattr(model, "vcov_type", "")
        cells["Weights"] = getattr(model, "weights", None) or "none"
        cells["Fixed effects"] = " + ".join(getattr(model, "fixed_effects", ())) or "none"
        columns[name] = cells
    table = pd.DataFrame(columns)
    footer = ["Observations", "Covariance", "Weights", "Fixed effects"]
    terms = [t for t in table.index if t not in footer]
    return table.loc[[*terms, *footer]].fillna("")


def as_pyfixest(result: RegressionResult) -> Any:
    """``result`` as a pyfixest model, for ``pyfixest.etable`` and ``pyfixest.coefplot``.

    ``pyfixest.etable`` takes pyfixest models only (it checks their class), so this
    returns an instance of a subclass of pyfixest's ``Feols`` that refits nothing: it
    carries the result's coefficients, standard errors, tests, observations, covariance
    type, fixed effects and dependent variable under the names pyfixest's table code
    reads (``tidy()``, ``coef()``, ``se()``, ``_N``, ``_vcov_type``, ...). Anything
    else of ``Feols`` (prediction, refitting, the data) is not there.

    Examples
    --------
    >>> import numpy as np, pandas as pd, pyfixest as pf
    >>> df = pf.get_data()
    >>> fit = pf.feols("Y ~ X1 | f1", data=df, vcov="iid")
    >>> ours = RegressionResult(params=fit.coef(), cov=pd.DataFrame(
    ...     fit._vcov, index=fit.coef().index, columns=fit.coef().index), nobs=fit._N,
    ...     df_resid=fit._N - 31, vcov_type="iid", estimator="example", depvar="Y",
    ...     fixed_effects=("f1",))
    >>> table = pf.etable([fit, as_pyfixest(ours)], type="df")
    >>> list(table.columns.get_level_values(-1))
    ['(1)', '(2)']
    >>> table.iloc[0, 0] == table.iloc[0, 1]  # the same cell for the same fit
    True
    """
    return _feols_view_class()(result)


def _feols_view_class() -> type:
    try:
        from pyfixest.estimation.models.feols_ import Feols
    except ImportError:  # pyfixest < 0.60
        from pyfixest.estimation.feols_ import Feols

    class FeolsView(Feols):  # type: ignore[misc, valid-type]
        """A :class:`RegressionResult` seen as a pyfixest ``Feols`` (see
        :func:`as_pyfixest`)."""

        def __init__(self, result: RegressionResult) -> None:  # no refit: no super()
            self._result = result
            self._depvar = result.depvar or "outcome"
            self._fixef = "+".join(result.fixed_effects) or None
            self._N = result.nobs
            kind, _, clusters = result.vcov_type.partition(":")
            crv = kind.strip().upper().startswith("CRV")
            self._vcov_type = "CRV" if crv else result.vcov_type
            self._vcov_type_detail = kind.strip() if crv else result.vcov_type
            self._clustervar = [c.strip() for c in re.split(r"[+;]", clusters)] if crv else None
            g = result.info.get("clusters")
            self._G = [int(g)] if isinstance(g, (int, np.integer)) else []
            self._r2 = result.info.get("r2")
            self._sample_split_var = None
            self._sample_split_value = "all"
            self._model_name = f"{result.estimator}: {self._depvar}"
            self._data = None

        def tidy(self, alpha: float = 0.05) -> pd.DataFrame:
            table = self._result.tidy(1 - alpha)
            return pd.DataFrame(
                {
                    "Estimate": table["estimate"].to_numpy(),
                    "Std. Error": table["std_error"].to_numpy(),
                    "t value": table["statistic"].to_numpy(),
                    "Pr(>|t|)": table["p_value"].to_numpy(),
                    f"{alpha / 2:.1%}": table["conf_low"].to_numpy(),
                    f"{1 - alpha / 2:.1%}": table["conf_high"].to_numpy(),
                },
                index=pd.Index(table["term"], name="Coefficient"),
            )

        def coef(self) -> pd.Series:
            return self._result.params.rename("Estimate")

        def se(self) -> pd.Series:
            return self._result.std_errors.rename("Std. Error")

        def tstat(self) -> pd.Series:
            return self._result.tstats.rename("t value")

        def pvalue(self) -> pd.Series:
            return self._result.pvalues.rename("Pr(>|t|)")

        def __repr__(self) -> str:
            return f"FeolsView of {self._result.estimator}: {self._depvar}"

    return FeolsView
