"""Calibration by simulated moments: fit the free parameters to the published figures.

Each free parameter has one moment that it moves most (the AI hazard of a country
moves its AI stock, a country premium its measured premium, the moving cost the
overseas share of non-AI workers, the pay response of migration the AI gap in that
share, ...). The calibration therefore solves ``moment(theta) = target`` by a damped
fixed-point iteration, one parameter per moment, with common random numbers (one
seed throughout), measuring every moment *on a generated delivery* with
:func:`analysis.sources.synthetic.moments.measure_moments`. A general-purpose
optimiser over all parameters at once would need hundreds of simulated deliveries;
this map needs about ten.

The calibration uses its own seed (:data:`CALIBRATION_SEED`), not the default one,
so that the test on the default delivery is an honest check: it sees fresh
sampling noise.

Figures used as targets are listed in :data:`TARGETS`; every other figure of the
registry that the world speaks to is an out-of-sample check (see
:data:`OUT_OF_SAMPLE`).
"""

from __future__ import annotations

import math
import shutil
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from analysis import config
from analysis.config import FOCAL_COUNTRY
from analysis.errors import ArgumentError
from analysis.sources.published import BOK_PREMIUM_IDS, load_published_figures
from analysis.sources.synthetic.moments import Moment, measure_moments
from analysis.sources.synthetic.params import Params, load_params, rewrite_values
from analysis.sources.synthetic.writer import write_synthetic_delivery

#: Seed of the calibration's simulations (common random numbers).
CALIBRATION_SEED = 7_2024
#: Published figures the calibration fits (ids of published_figures.csv).
TARGETS: tuple[str, ...] = (
    "kr_ai_workers_2010",
    "kr_ai_workers_2024",
    "us_ai_workers_2024",
    "uk_ai_workers_2024",
    "fr_ai_workers_2024",
    "premium_kr_2024",
    "premium_kr_avg_2010_2024",
    "premium_us",
    "premium_ca",
    "premium_uk",
    "premium_fr",
    "premium_au",
    "premium_skill_pattern_recognition",
    "premium_skill_neuroscience",
    "premium_skill_signal_processing",
    "premium_skill_cloud",
    "skill_share_2024_cloud",
    "skill_share_2024_ml",
    "skill_share_2024_dl",
    "skill_share_2024_signal_processing",
    "kr_abroad_share",
    "kr_abroad_share_gap_vs_nonai",
)
#: Figures the world speaks to but is not fitted to: out-of-sample checks.
OUT_OF_SAMPLE: tuple[str, ...] = (
    "premium_kr_2010",
    "kr_abroad_2024",
    "kr_abroad_us_2024",
    "kr_abroad_us_share_of_domestic_2024",
    "kr_net_outflow_years",
    "kr_job_changers_abroad_2024_ai",
    "kr_job_changers_abroad_2024_nonai",
    "kr_ai_education_graduate",
    "kr_ai_majors_engineering",
    "skill_mobility_pattern",
)
_ASSUMED_BESIDE_GBR = ("CAN", "AUS", "DEU", "JPN", "SGP")
_SKILLS = {
    "premium_skill_pattern_recognition": "pattern recognition",
    "premium_skill_neuroscience": "neuroscience",
    "premium_skill_signal_processing": "signal processing",
    "premium_skill_cloud": "cloud computing",
}
_SHARES = {
    "skill_share_2024_cloud": "cloud computing",
    "skill_share_2024_ml": "machine learning",
    "skill_share_2024_dl": "deep learning",
    "skill_share_2024_signal_processing": "signal processing",
}
_PREMIUM_COUNTRY = {f: c for c, f in BOK_PREMIUM_IDS.items() if c != FOCAL_COUNTRY}


@dataclass
class CalibrationResult:
    """What the calibration achieved."""

    iterations: int
    moments: dict[str, Moment]
    targets: dict[str, float]
    converged: bool

    def table(self) -> list[tuple[str, float, float, float]]:
        """(figure id, target, achieved, z = (achieved - target) / se) per target."""
        rows = []
        for fid in TARGETS:
            m = self.moments[fid]
            z = (m.value - self.targets[fid]) / m.std_error if m.std_error else math.nan
            rows.append((fid, self.targets[fid], m.value, z))
        return rows


def targets_from_registry() -> dict[str, float]:
    """Target values from the registry; the non-AI overseas share is implied by two rows."""
    figures = load_published_figures().set_index("id")["value"]
    return {fid: float(figures[fid]) for fid in TARGETS}


def _measure(params: Params, seed: int, scale: float) -> dict[str, Moment]:
    tmp = Path(tempfile.mkdtemp(prefix="calibrate-"))
    try:
        write_synthetic_delivery(tmp / "delivery", seed=seed, scale=scale, params=params)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*singleton.*")
            moments = measure_moments(tmp / "delivery")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return moments


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def _update(
    params: Params, moments: dict[str, Moment], targets: dict[str, float], damping: float
) -> dict[tuple[str, str], object]:
    """One step of the fixed-point map: new values of every free parameter."""
    d = damping
    m = {k: v.value for k, v in moments.items()}
    t = targets
    updates: dict[tuple[str, str], object] = {}

    base = dict(params.value("ai", "hazard_base"))
    growth = dict(params.value("ai", "hazard_growth"))
    r10 = t["kr_ai_workers_2010"] / max(m["kr_ai_workers_2010"], 1.0)
    r24 = t["kr_ai_workers_2024"] / max(m["kr_ai_workers_2024"], 1.0)
    base["KOR"] = base["KOR"] * r10**d
    growth["KOR"] = growth["KOR"] + d * math.log(r24 / r10) / 14.0
    for country, fid in (
        ("USA", "us_ai_workers_2024"),
        ("GBR", "uk_ai_workers_2024"),
        ("FRA", "fr_ai_workers_2024"),
    ):
        factor = (t[fid] / max(m[fid], 1.0)) ** d
        base[country] = base[country] * factor
        if country == "GBR":
            for other in _ASSUMED_BESIDE_GBR:
                base[other] = base[other] * factor
    updates[("ai", "hazard_base")] = base
    updates[("ai", "hazard_growth")] = growth

    # Korea's premium path: the 2024 end point to the 2024 figure; the 2010 end point so
    # that the average of the yearly premiums matches the 2010-2024 average.
    kor24 = params.value("premium", "kor_2024") + d * (t["premium_kr_2024"] - m["premium_kr_2024"])
    kor10 = (
        params.value("premium", "kor_2010")
        + d * 2 * (t["premium_kr_avg_2010_2024"] - m["premium_kr_avg_2010_2024"])
        - d * (kor24 - params.value("premium", "kor_2024"))
    )
    updates[("premium", "kor_2024")] = kor24
    updates[("premium", "kor_2010")] = kor10
    other = dict(params.value("premium", "other"))
    for fid, country in _PREMIUM_COUNTRY.items():
        other[country] = other[country] + d * (t[fid] - m[fid])
    updates[("premium", "other")] = other
    skill = dict(params.value("premium", "skill_kor"))
    for fid, cluster in _SKILLS.items():
        skill[cluster] = skill[cluster] + d * (t[fid] - m[fid])
    updates[("premium", "skill_kor")] = skill
    for fid, cluster in _SHARES.items():
        weight = params.clusters[cluster]["weight"]
        updates[("ai.clusters", cluster)] = weight * (t[fid] / max(m[fid], 0.1)) ** d

    nonai_target = t["kr_abroad_share"] - t["kr_abroad_share_gap_vs_nonai"]
    cost = params.value("mobility", "cost")
    updates[("mobility", "cost")] = cost + d * (
        _logit(m["kr_abroad_share_nonai"] / 100) - _logit(nonai_target / 100)
    )
    alpha = params.value("mobility", "alpha")
    gap_ratio = t["kr_abroad_share_gap_vs_nonai"] / max(m["kr_abroad_share_gap_vs_nonai"], 0.5)
    updates[("mobility", "alpha")] = alpha * gap_ratio ** (0.7 * d)
    return updates


def _apply(params: Params, updates: dict[tuple[str, str], object], path: Path) -> Params:
    shutil.copyfile(params.path, path)
    rewrite_values(path, updates, [])
    return load_params(path)


def calibrate(
    params_path: str | Path | None = None,
    *,
    seed: int = CALIBRATION_SEED,
    scale: float = 1.0,
    max_iterations: int = 10,
    tolerance_z: float = 0.5,
    damping: float = 0.8,
    write: bool = True,
    log: Callable[[str], None] = print,
) -> CalibrationResult:
    """Fit the calibrated parameters of ``params.toml`` to their target figures.

    Parameters
    ----------
    params_path
        Parameters file to start from and (with ``write=True``) to rewrite; default: the
        package's ``params.toml``, which an installed package does not rewrite (copy it
        into the project and pass the copy).
    seed, scale
        Seed and scale of the simulated deliveries (common random numbers).
    max_iterations, tolerance_z
        Stop when every target is within ``tolerance_z`` standard errors, or after
        ``max_iterations`` simulations.
    damping
        Step size of the fixed-point map (1 = full step).
    """
    params = load_params(params_path)
    original = params.path
    if write and config.inside_installation(original):
        # site-packages belongs to the installer; fail before minutes of simulation
        raise ArgumentError(
            f"--params {original} is part of the installed package and is not rewritten: "
            "copy it into your project folder and pass the copy, or use --dry-run"
        )
    targets = targets_from_registry()
    work = Path(tempfile.mkdtemp(prefix="calibration-params-"))
    converged = False
    try:
        for iteration in range(1, max_iterations + 1):
            moments = _measure(params, seed, scale)
            worst = max(abs(moments[f].value - targets[f]) / moments[f].std_error for f in TARGETS)
            log(f"iteration {iteration}: worst |z| = {worst:.2f}")
            if worst <= tolerance_z:
                converged = True
                break
            updates = _update(params, moments, targets, damping)
            params = _apply(params, updates, work / f"params_{iteration}.toml")
        result = CalibrationResult(iteration, moments, targets, converged)
        if write:
            final = {key: _current(params, key) for key in _update(params, moments, targets, 0.0)}
            lines = [
                f"seed = {seed}",
                f"scale = {scale}",
                f"iterations = {iteration}",
                f"converged = {str(converged).lower()}",
            ]
            for fid, target, achieved, z in result.table():
                lines.append(
                    f"{fid} = {{ target = {target:g}, achieved = {achieved:.4g}, z = {z:.2f} }}"
                )
            rewrite_values(original, final, lines)
        return result
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _current(params: Params, key: tuple[str, str]) -> object:
    section, name = key
    if section == "ai.clusters":
        return params.clusters[name]["weight"]
    return params.value(section, name)
