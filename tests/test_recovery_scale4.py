"""Recovery of the compensation-mobility answer at scale 4, where it can fail.

One world (seed 1, scale 4: about 80,000 Korean-origin users, 320 AI emigrations) is
generated, read and cleaned like real data, and estimated as the estimate stage does
(out of core, ``mobility_replication.stage_estimates``).
At this size the standard errors are well below the errors this model had (measured
at scale 4 and 8 before the fix): a baseline AI emigration rate 31% too high (0.24 pp
against a standard error of about 0.045 pp here), an emigration change at the US
premium 1.9 times the truth (0.15 pp against about 0.065 pp), and a pay gain whose
by-skill premiums absorb the other clusters held (rejected here at any usual level).
``tests/test_monte_carlo_world.py`` (slow) measures bias and coverage over many worlds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from mobility_replication import mobility_estimates, stage_estimates, world_delivery
from scipy import stats
from world_truth import contrast_statistic, true_premium_difference

from analysis.config import FOCAL_COUNTRY
from analysis.estimate.skillpay import SHARE_PREFIX, premium_difference

Z = 3.5


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    processed, model, _ = world_delivery(tmp_path_factory.mktemp("scale4"), seed=1, scale=4.0)
    return stage_estimates(processed), model


def test_skill_set_premiums_recover_each_clusters_own_premium(world):
    stage, model = world
    difference, cov = premium_difference(stage.pay, destination="USA", home=FOCAL_COUNTRY)
    truth = true_premium_difference(model, list(difference.index))
    statistic = contrast_statistic(difference, cov, truth)
    assert statistic < stats.chi2.ppf(0.9995, len(difference) - 1), statistic


def test_holders_premiums_are_not_each_clusters_own_premium(world):
    """The published by-skill premium (holders of k against non-AI workers) absorbs the
    premiums of the clusters held with k: the same test rejects it as the cluster's own
    premium, which is why the mobility model does not use it."""
    stage, model = world
    by_skill = stage.premiums["premium_by_skill"].query(
        "country in [@FOCAL_COUNTRY, 'USA'] and skill != 'all'"
    )
    table = by_skill.pivot(index="skill", columns="country", values="estimate")
    ses = by_skill.pivot(index="skill", columns="country", values="std_error")
    holders = (table["USA"] - table[FOCAL_COUNTRY]).rename(lambda s: SHARE_PREFIX + s)
    variance = (ses["USA"] ** 2 + ses[FOCAL_COUNTRY] ** 2).to_numpy()
    cov = pd.DataFrame(np.diag(variance), holders.index, holders.index)
    truth = true_premium_difference(model, list(holders.index))
    assert contrast_statistic(holders, cov, truth) > stats.chi2.ppf(0.9995, len(holders) - 1)


@pytest.fixture(scope="module")
def estimates(world):
    stage, model = world
    frame = pd.DataFrame(mobility_estimates(stage, model))
    frame["z"] = (frame["estimate"] - frame["truth"]) / frame["se"]
    return frame.set_index(["method", "quantity"])


QUANTITIES = [
    "alpha",
    "beta",
    "baseline emigration rate (%)",
    "emigration change, Canada's level (18%) (pp)",
    "emigration change, US level (25%) (pp)",
    "return change, US level (25%) (pp)",
]


@pytest.mark.parametrize("quantity", QUANTITIES)
def test_joint_model_recovers_the_world(estimates, quantity):
    row = estimates.loc[("joint", quantity)]
    assert abs(row["z"]) < Z, row.to_dict()


def test_checks_are_sharp_enough_to_see_the_old_errors(estimates):
    base = estimates.loc[("joint", "baseline emigration rate (%)")]
    assert Z * base["se"] < 0.31 * base["truth"]  # the miscoded outcome's error
    change = estimates.loc[("joint", "emigration change, US level (25%) (pp)")]
    assert Z * change["se"] < 1.9 * abs(change["truth"])  # the squeezed gain's error
    assert change["estimate"] < 0
