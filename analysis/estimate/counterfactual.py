"""What would a higher AI premium change? Counterfactuals from the estimated mobility model.

The report's policy question: if Korea paid AI workers the premium Canada (18%) or the US
(25%) pays, how many fewer would leave? We answer it with two estimated individual
models, both logits on the premium gap (destination premium minus home premium, in log
points, for the worker's skills) and controls:

- emigration: the probability that an AI worker of Korean origin working in Korea in year
  t works abroad in t + 1;
- return: the probability that one working abroad in t works in Korea in t + 1.

Raising Korea's premium by ``delta`` log points lowers the gap of every worker by
``delta`` in both models. The counterfactual predicts, over the observed workers and with
their weights, the emigration rate ``e``, the return rate ``r``, the annual net outflow
``e * N_home - r * N_abroad`` and the long-run overseas share ``e / (e + r)`` (the steady
state of the two-state chain home <-> abroad). Uncertainty: the delta method over both
models' coefficient covariances (the models are fitted on different person-years, so
their estimates are independent).

Assumptions, stated where the numbers are shown: partial equilibrium (other countries'
premiums, wages and the composition of the workforce are held fixed), the estimated
response is causal, and the steady state abstracts from the age structure.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from analysis.estimate.covariance import delta_method_se
from analysis.estimate.mobility import LogitFit, fit_logit


def _with_gap(fit: LogitFit, gap: str, shift: float) -> np.ndarray:
    X = fit.X.copy()
    X[:, fit.names.index(gap)] -= shift
    return X


def premium_counterfactual(
    at_home: pd.DataFrame,
    abroad: pd.DataFrame,
    *,
    scenarios: dict[str, float],
    gap: str = "premium_gap",
    emigrate: str = "emigrate_next",
    return_: str = "return_next",
    controls: Sequence[str] = (),
    categorical: Sequence[str] = (),
    weights: str | None = None,
    vcov: str | Mapping[str, str] = "hetero",
    level: float = 0.95,
) -> pd.DataFrame:
    """Emigration, return, net outflow and overseas share under premium scenarios.

    Parameters
    ----------
    at_home, abroad
        Person-years at risk of emigrating (working at home) and of returning (working
        abroad), with the 0/1 outcomes ``emigrate`` and ``return_`` and the regressor
        ``gap``.
    scenarios
        ``{name: shift}``: the change of the home premium in log points (0 for the
        baseline, ``log(1.18) - log(1.06)`` for "Canada's level", ...).

    Returns
    -------
    DataFrame
        One row per scenario and quantity (``emigration_rate``, ``return_rate`` in
        percent a year, ``net_outflow`` in weighted persons a year, ``overseas_share`` in
        percent), with ``estimate``, ``std_error``, ``conf_low``, ``conf_high`` and the
        ``change`` from the baseline with its own standard error.
    """
    emig = fit_logit(
        at_home,
        emigrate,
        [gap],
        controls=controls,
        categorical=categorical,
        weights=weights,
        vcov=vcov,
    )
    ret = fit_logit(
        abroad,
        return_,
        [gap],
        controls=controls,
        categorical=categorical,
        weights=weights,
        vcov=vcov,
    )
    n_home, n_abroad = emig.weights.sum(), ret.weights.sum()
    k = len(emig.beta)

    def quantities(theta: np.ndarray, shift: float) -> np.ndarray:
        e = np.average(emig.predict(_with_gap(emig, gap, shift), theta[:k]), weights=emig.weights)
        r = np.average(ret.predict(_with_gap(ret, gap, shift), theta[k:]), weights=ret.weights)
        return np.array([100 * e, 100 * r, e * n_home - r * n_abroad, 100 * e / (e + r)])

    theta = np.concatenate([emig.beta, ret.beta])
    cov = np.block(
        [[emig.cov, np.zeros((k, len(ret.beta)))], [np.zeros((len(ret.beta), k)), ret.cov]]
    )
    names = ["emigration_rate", "return_rate", "net_outflow", "overseas_share"]
    out = scenario_table(quantities, theta, cov, names, scenarios, level)
    out.attrs["models"] = {
        "emigration": dict(zip(emig.names, emig.beta.round(6), strict=True)),
        "return": dict(zip(ret.names, ret.beta.round(6), strict=True)),
        "n_home": int(emig.nobs),
        "n_abroad": int(ret.nobs),
    }
    return out


def scenario_shifts(home_premium_pct: float, targets: dict[str, float]) -> dict[str, float]:
    """Shifts (log points) that bring a home premium (percent) to target premiums.

    Examples
    --------
    >>> s = scenario_shifts(6.0, {"Canada (18%)": 18.0, "US (25%)": 25.0})
    >>> round(s["baseline"], 6), round(s["US (25%)"], 4)
    (0.0, 0.1649)
    """
    out = {"baseline": 0.0}
    for name, pct in targets.items():
        out[name] = float(np.log1p(pct / 100) - np.log1p(home_premium_pct / 100))
    return out


def scenario_table(
    quantities: Callable[[np.ndarray, float], np.ndarray],
    theta: np.ndarray,
    cov: np.ndarray,
    names: Sequence[str],
    scenarios: Mapping[str, float],
    level: float = 0.95,
) -> pd.DataFrame:
    """Each quantity under each premium scenario, and its change from the baseline.

    ``quantities(theta, shift)`` gives the quantities ``names`` at parameters ``theta``
    when the home premium rises by ``shift`` log points; ``scenarios`` maps a name to
    its shift (``"baseline"``, if present, is the reference of ``change``; else a shift
    of 0). Standard errors are by the delta method over ``cov``.

    Returns
    -------
    DataFrame
        One row per scenario and quantity: ``scenario``, ``premium_shift``,
        ``quantity``, ``estimate``, ``std_error``, ``conf_low``, ``conf_high``,
        ``change``, ``change_se``.

    Examples
    --------
    >>> table = scenario_table(lambda t, s: t * (1 + s), np.array([2.0]), np.eye(1),
    ...                        ["x"], {"baseline": 0.0, "up": 0.5})
    >>> table[["estimate", "std_error", "change", "change_se"]].round(6).values.tolist()
    [[2.0, 1.0, 0.0, 0.0], [3.0, 1.5, 1.0, 0.5]]
    """
    z = stats.norm.ppf(0.5 + level / 2)
    base = scenarios.get("baseline", 0.0)
    rows = []
    for scenario, shift in scenarios.items():
        est = quantities(theta, shift)
        se = delta_method_se(lambda t, s=shift: quantities(t, s), theta, cov)

        def diff(t: np.ndarray, s: float = shift) -> np.ndarray:
            return quantities(t, s) - quantities(t, base)

        change, dse = diff(theta), delta_method_se(diff, theta, cov)
        for i, name in enumerate(names):
            rows.append(
                {
                    "scenario": scenario,
                    "premium_shift": shift,
                    "quantity": name,
                    "estimate": est[i],
                    "std_error": se[i],
                    "conf_low": est[i] - z * se[i],
                    "conf_high": est[i] + z * se[i],
                    "change": change[i],
                    "change_se": dse[i],
                }
            )
    return pd.DataFrame(rows)
