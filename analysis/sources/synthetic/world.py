"""The synthetic world's data-generating process: careers, pay, AI skills and migration.

This module simulates a population of workers year by year and returns, for one
chunk of persons, their *true* histories: spells with employer, location,
seniority and pay, education, AI skills. :mod:`analysis.sources.synthetic.observe`
then applies LinkedIn coverage, weights and real-world mess, and
:mod:`analysis.sources.synthetic.writer` writes the delivery. The model is
documented with its equations in ``docs/synthetic-world.md``; every number comes
from ``params.toml``.

The simulation is vectorised over persons and loops over calendar years, so a
chunk of 40,000 persons takes a second or two; chunks are independent (each has
its own random stream derived from the seed and the chunk number), which keeps
memory bounded and the output identical for a given seed whatever the machine.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from analysis.sources.synthetic.params import Params

#: Seed-sequence key of the world-level draws (firm effects), shared by all chunks.
_FIRM_STREAM = 2**31 - 1
#: Base of employer ids: rcid = (country index + 1) * _RCID_BASE + firm number.
RCID_BASE = 1_000_000
#: position_id = user_id * _POSITION_SLOTS + position number (at most 99 spells a person).
POSITION_SLOTS = 100
#: Industries of employers; AI workers lean towards information services.
INDUSTRIES = (
    "Information Services",
    "Manufacturing",
    "Finance and Insurance",
    "Professional Services",
    "Wholesale and Retail",
    "Other Services",
)
_INDUSTRY_SHARES = np.array([0.12, 0.28, 0.12, 0.18, 0.15, 0.15])
_AI_INFO_TILT = 3.0  # AI workers' relative odds of joining an information-services firm


@dataclass(frozen=True)
class World:
    """Parameters turned into arrays, plus the world-level random draws.

    Build it once per delivery; :meth:`simulate_chunk` uses it for every chunk.
    """

    params: Params
    seed: int

    # ---- dimensions ---------------------------------------------------------------
    @cached_property
    def countries(self) -> list[str]:
        return self.params.countries

    @cached_property
    def n_countries(self) -> int:
        return len(self.countries)

    def _by_country(self, section: str, name: str) -> np.ndarray:
        return np.array([float(self.params.by_country(section, name, c)) for c in self.countries])

    def _categorical(self, section: str, name: str) -> tuple[list[str], np.ndarray]:
        table = self.params.value(section, name)
        labels = list(table)
        probs = np.array([float(table[k]) for k in labels])
        return labels, probs / probs.sum()

    @cached_property
    def degrees(self) -> tuple[list[str], np.ndarray]:
        return self._categorical("education", "degree_shares")

    @cached_property
    def majors(self) -> tuple[list[str], np.ndarray]:
        return self._categorical("education", "major_shares")

    @cached_property
    def occupations(self) -> tuple[list[str], np.ndarray]:
        return self._categorical("occupation", "shares")

    @cached_property
    def cluster_names(self) -> list[str]:
        return list(self.params.clusters)

    @cached_property
    def cluster_weights(self) -> np.ndarray:
        w = np.array([float(c["weight"]) for c in self.params.clusters.values()])
        return w / w.sum()

    # ---- pay --------------------------------------------------------------------------
    @cached_property
    def level_2010(self) -> np.ndarray:
        return self._by_country("wage", "level_2010")

    @cached_property
    def wage_growth(self) -> np.ndarray:
        return self._by_country("wage", "growth")

    @cached_property
    def log_price(self) -> np.ndarray:
        return np.log(self._by_country("wage", "price_level"))

    def premium(self, year: int) -> np.ndarray:
        """Country AI premium in log points in ``year`` (Korea rises 2010-2024)."""
        p = self.params
        out = np.array(
            [
                np.log1p(float(p.by_country("premium", "other", c)) / 100) if c != "KOR" else 0.0
                for c in self.countries
            ]
        )
        lo = np.log1p(p.value("premium", "kor_2010") / 100)
        hi = np.log1p(p.value("premium", "kor_2024") / 100)
        share = min(max((year - 2010) / 14.0, 0.0), 1.0)
        out[self.countries.index("KOR")] = lo + (hi - lo) * share
        return out

    @cached_property
    def skill_deviation(self) -> np.ndarray:
        """Log-point deviation of each cluster's premium from the country premium
        (countries x clusters). Korea's deviations are centred so that the average AI
        worker earns the country premium; elsewhere the shifts are as given."""
        names = self.cluster_names
        dev = np.zeros((self.n_countries, len(names)))
        shift = self.params.value("premium", "skill_abroad_shift")
        for k, name in enumerate(names):
            dev[:, k] = float(shift.get(name, 0.0))
        kor = np.log1p(
            np.array([self.params.value("premium", "skill_kor")[n] / 100 for n in names])
        )
        # Expected mean deviation of a worker's clusters, by simulation with a fixed stream.
        rng = np.random.default_rng(12345)
        masks = self.draw_clusters(rng, 200_000)
        held = masks.sum(axis=1)
        centre = float(np.mean((masks * kor).sum(axis=1) / held))
        dev[self.countries.index("KOR")] = kor - centre
        return dev

    @cached_property
    def _firm_draws(self) -> tuple[np.ndarray, np.ndarray]:
        n_firms = int(self.params.value("wage", "firms_per_country"))
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, _FIRM_STREAM]))
        effects = rng.normal(0.0, self.params.value("wage", "firm_sd"), (self.n_countries, n_firms))
        industry = rng.choice(len(INDUSTRIES), size=(self.n_countries, n_firms), p=_INDUSTRY_SHARES)
        return effects, industry

    @property
    def firm_effect(self) -> np.ndarray:
        return self._firm_draws[0]

    @property
    def firm_industry(self) -> np.ndarray:
        return self._firm_draws[1]

    @cached_property
    def firm_choice_probs(self) -> tuple[np.ndarray, np.ndarray]:
        """Probabilities of joining each firm of a country: non-AI and AI workers."""
        n_firms = self.firm_effect.shape[1]
        size = (np.arange(n_firms) + 1.0) ** -self.params.value("wage", "firm_size_exponent")
        base = np.broadcast_to(size, (self.n_countries, n_firms))
        tilt = np.where(self.firm_industry == 0, _AI_INFO_TILT, 1.0)
        nonai = base / base.sum(axis=1, keepdims=True)
        ai = base * tilt
        return nonai, ai / ai.sum(axis=1, keepdims=True)

    # ---- random pieces ------------------------------------------------------------------
    def draw_clusters(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Boolean (n x 12) matrix of AI clusters: 1-3 distinct clusters per worker,
        drawn without replacement with probability proportional to their weights."""
        counts_table = self.params.value("ai", "clusters_per_worker")
        counts = np.array([int(k) for k in counts_table])
        probs = np.array([float(v) for v in counts_table.values()])
        k = rng.choice(counts, size=n, p=probs / probs.sum())
        keys = np.log(self.cluster_weights) + rng.gumbel(size=(n, len(self.cluster_names)))
        order = np.argsort(-keys, axis=1)
        ranks = np.empty_like(order)
        np.put_along_axis(ranks, order, np.arange(order.shape[1])[None, :], axis=1)
        return ranks < k[:, None]

    def draw_firms(self, u: np.ndarray, country: np.ndarray, ai: np.ndarray) -> np.ndarray:
        """Firm numbers (within country) for workers joining a new employer, by inverting
        the firm-choice distribution at the uniforms ``u`` (one per worker)."""
        nonai, aiprob = self.firm_choice_probs
        out = np.empty(len(country), dtype=np.int64)
        for flag, table in ((False, nonai), (True, aiprob)):
            cdf = table.cumsum(axis=1)
            for c in np.unique(country):
                idx = np.flatnonzero((country == c) & (ai == flag))
                if len(idx):
                    pos = np.searchsorted(cdf[c], u[idx] * cdf[c, -1], side="right")
                    out[idx] = np.minimum(pos, table.shape[1] - 1)
        return out

    # ---- the simulation ---------------------------------------------------------------
    def location_choice_probabilities(
        self,
        year: int,
        location: np.ndarray,
        origin: np.ndarray,
        premium: np.ndarray,
    ) -> np.ndarray:
        """Probabilities (persons x countries) of each location next, by the world's
        multinomial logit (``docs/synthetic-world.md``, "Mobility").

        Parameters
        ----------
        year
            Calendar year of the choice (2020 carries the COVID shocks).
        location, origin
            Country indices of each person's current location and origin.
        premium
            persons x countries matrix of the AI premium (log points) each person would
            earn in each country (zero for non-AI workers).
        """
        p = self.params
        n = len(location)
        ppp_level = self.level_2010 + self.wage_growth * (year - 2010) - self.log_price
        value = ppp_level[None, :] + premium  # persons x countries
        gain = value - value[np.arange(n), location][:, None]
        cols = np.arange(self.n_countries)[None, :]
        at_home = (location == origin)[:, None]
        to_home = cols == origin[:, None]
        pull = np.array([p.by_country("mobility", "pull", c) for c in self.countries])
        barrier = np.array([p.by_country("mobility", "barrier", c) for c in self.countries])
        util = (
            p.value("mobility", "alpha") * gain
            - p.value("mobility", "cost")
            - p.value("mobility", "home") * at_home
            + p.value("mobility", "home") * to_home
            + pull[None, :]
            - barrier[None, :] * ~to_home
        )
        if year == 2020:
            util = util + p.value("mobility", "shock_2020_emigration") * (at_home & ~to_home)
            util = util + p.value("mobility", "shock_2020_return") * (~at_home & to_home)
        util[np.arange(n), location] = 0.0  # staying: utility 0
        util = util - util.max(axis=1, keepdims=True)
        prob = np.exp(util)
        return prob / prob.sum(axis=1, keepdims=True)

    def premium_matrix(self, year: int, clusters: np.ndarray) -> np.ndarray:
        """persons x countries AI premium (log points) of workers holding ``clusters``
        (persons x clusters booleans): the country premium of ``year`` plus the mean
        deviation of the clusters held. Rows with no cluster get the country premium."""
        held = clusters.astype(float)
        dev = held @ self.skill_deviation.T / np.maximum(held.sum(axis=1), 1.0)[:, None]
        return self.premium(year)[None, :] + dev

    def simulate_chunk(
        self, origins: np.ndarray, first_user_id: int, chunk: int
    ) -> dict[str, pd.DataFrame]:
        """Simulate the careers of one chunk of persons.

        Parameters
        ----------
        origins
            Country index of each person (determines where they grow up and study).
        first_user_id
            user_id of the first person; the others follow consecutively.
        chunk
            Chunk number: with the seed it determines the random stream.

        Returns
        -------
        dict
            ``persons``, ``spells``, ``education``, ``skills`` (true, complete histories
            of every simulated person, before coverage and mess), ``moves`` (every
            change of country, for the truth tables).
        """
        return _ChunkSimulation(self, origins, first_user_id, chunk).run()


class _ChunkSimulation:
    """State of one chunk's simulation (one instance per chunk)."""

    def __init__(self, world: World, origins: np.ndarray, first_user_id: int, chunk: int) -> None:
        self.w = world
        self.p = world.params
        self.rng = np.random.default_rng(np.random.SeedSequence([world.seed, chunk]))
        self.origin = origins.astype(np.int64)
        self.n = len(origins)
        self.user_id = first_user_id + np.arange(self.n, dtype=np.int64)

    # ---- person attributes ---------------------------------------------------------------
    def _draw_persons(self) -> None:
        rng, p, w, n = self.rng, self.p, self.w, self.n
        self.female = rng.random(n) < p.value("cohorts", "female_share")
        deg_labels, deg_p = w.degrees
        self.degree = rng.choice(len(deg_labels), size=n, p=deg_p)
        maj_labels, maj_p = w.majors
        self.major = rng.choice(len(maj_labels), size=n, p=maj_p)
        occ_labels, occ_p = w.occupations
        occ = rng.choice(len(occ_labels), size=n, p=occ_p)
        technical = np.isin(
            np.array(maj_labels)[self.major],
            ["Engineering", "Information Technology", "Natural Sciences"],
        )
        to_tech = technical & (
            rng.random(n) < p.value("occupation", "engineering_major_to_engineer")
        )
        doctor = np.array(deg_labels)[self.degree] == "Doctor"
        scientist = rng.random(n) < np.where(doctor, 0.5, 0.15)
        occ[to_tech] = np.where(
            scientist[to_tech], occ_labels.index("Scientist"), occ_labels.index("Engineer")
        )
        self.occupation = occ

        first = p.value("world", "first_career_year")
        last = p.value("world", "last_year")
        years = np.arange(first, last + 1)
        density = np.exp(p.value("cohorts", "career_growth") * (years - first))
        self.start = rng.choice(years, size=n, p=density / density.sum())
        length = rng.integers(
            p.value("cohorts", "career_length_min"),
            p.value("cohorts", "career_length_max") + 1,
            size=n,
        )
        self.end = self.start + length  # first year no longer working
        self.person_effect = rng.normal(0.0, p.value("wage", "person_sd"), n)
        self.seniority_offset = rng.uniform(0, 5, n) + np.where(doctor, 3.0, 0.0)

        # where they studied: bachelor and graduate degrees, at home or abroad
        countries = w.countries
        dest_table = p.value("education", "graduate_abroad_destination")
        dest_idx = np.array([countries.index(c) for c in dest_table])
        dest_p = np.array(list(dest_table.values()), dtype=float)
        dest_p /= dest_p.sum()
        origin_code = np.array(countries)[self.origin]
        ba_abroad_p = np.array(
            [p.by_country("education", "bachelor_abroad", c) for c in origin_code]
        )
        grad_abroad_p = np.array(
            [p.by_country("education", "graduate_abroad", c) for c in origin_code]
        )
        deg_name = np.array(deg_labels)[self.degree]
        has_ba = np.isin(deg_name, ["Bachelor", "Master", "MBA", "Doctor"])
        has_grad = np.isin(deg_name, ["Master", "MBA", "Doctor"])

        def abroad_country(mask: np.ndarray) -> np.ndarray:
            c = dest_idx[rng.choice(len(dest_idx), size=n, p=dest_p)]
            # a destination equal to the origin becomes the US (or Canada for Americans)
            fallback = np.where(
                self.origin == countries.index("USA"),
                countries.index("CAN"),
                countries.index("USA"),
            )
            c = np.where(c == self.origin, fallback, c)
            return np.where(mask, c, self.origin)

        # the clusters each person would hold if they acquired AI skills (drawn up front,
        # so that the random stream does not depend on who acquires them: common random
        # numbers for the calibration)
        self.latent_clusters = w.draw_clusters(rng, n)
        self.ba_country = abroad_country(has_ba & (rng.random(n) < ba_abroad_p))
        self.grad_country = abroad_country(has_grad & (rng.random(n) < grad_abroad_p))
        self.has_ba, self.has_grad = has_ba, has_grad
        stay = rng.random(n) < p.value("education", "stay_after_study")
        last_study = np.where(has_grad, self.grad_country, self.ba_country)
        self.location = np.where(stay & (last_study != self.origin), last_study, self.origin)

    # ---- helpers ---------------------------------------------------------------------------
    def _hazard(self, year: int) -> np.ndarray:
        p, w = self.p, self.w
        base = np.array([p.by_country("ai", "hazard_base", c) for c in w.countries])
        growth = np.array([p.by_country("ai", "hazard_growth", c) for c in w.countries])
        h = base[self.origin] * np.exp(growth[self.origin] * (year - 2010))
        occ_m = p.value("ai", "multiplier_occupation")
        maj_m = p.value("ai", "multiplier_major")
        deg_m = p.value("ai", "multiplier_degree")
        h = h * np.array([occ_m[k] for k in w.occupations[0]])[self.occupation]
        h = h * np.array([maj_m[k] for k in w.majors[0]])[self.major]
        h = h * np.array([deg_m[k] for k in w.degrees[0]])[self.degree]
        h = h * np.where(self.female, p.value("ai", "multiplier_female"), 1.0)
        return np.minimum(h, 0.5)

    def _seniority(self, year: int) -> np.ndarray:
        experience = np.maximum(year - self.start, 0) + self.seniority_offset
        return np.clip(1 + (experience // 5).astype(np.int64), 1, 7)

    def _premium_all(self, year: int, idx: np.ndarray) -> np.ndarray:
        """persons x countries matrix of AI premiums (zero for non-AI workers)."""
        return self.w.premium_matrix(year, self.clusters[idx]) * self.ai[idx, None]

    def _log_wage(
        self,
        year: int,
        idx: np.ndarray,
        country: np.ndarray,
        firm: np.ndarray,
        seniority: np.ndarray,
    ) -> np.ndarray:
        p, w = self.p, self.w
        deg = np.array([p.value("wage", "degree")[k] for k in w.degrees[0]])
        maj = np.array([p.value("wage", "major")[k] for k in w.majors[0]])
        occ = np.array([p.value("wage", "occupation")[k] for k in w.occupations[0]])
        prem = self._premium_all(year, idx)[np.arange(len(idx)), country]
        return (
            w.level_2010[country]
            + w.wage_growth[country] * (year - 2010)
            + deg[self.degree[idx]]
            + maj[self.major[idx]]
            + occ[self.occupation[idx]]
            + p.value("wage", "seniority") * (seniority - 1)
            + p.value("wage", "female") * self.female[idx]
            + w.firm_effect[country, firm]
            + self.person_effect[idx]
            + prem
            + p.value("wage", "noise_sd") * self.u["noise"][idx]
        )

    def _move_choice(self, year: int, idx: np.ndarray) -> np.ndarray:
        """Location chosen this year by active workers ``idx`` (multinomial logit)."""
        prob = self.w.location_choice_probabilities(
            year, self.location[idx], self.origin[idx], self._premium_all(year, idx)
        )
        draw = self.u["move"][idx][:, None]
        return (prob.cumsum(axis=1) < draw).sum(axis=1).clip(0, self.w.n_countries - 1)

    # ---- the loop --------------------------------------------------------------------------
    def run(self) -> dict[str, pd.DataFrame]:
        self._draw_persons()
        p, w, rng, n = self.p, self.w, self.rng, self.n
        first = p.value("world", "first_career_year")
        last = p.value("world", "last_year")
        self.ai = np.zeros(n, dtype=bool)
        self.ai_year = np.full(n, -1, dtype=np.int64)
        self.clusters = np.zeros((n, len(w.cluster_names)), dtype=bool)
        firm = np.full(n, -1, dtype=np.int64)
        seniority = np.zeros(n, dtype=np.int64)
        spell_start = np.zeros(n, dtype=np.int64)  # months since year 0
        spell_salary = np.zeros(n)
        spell_ai = np.zeros(n, dtype=bool)
        spell_number = np.zeros(n, dtype=np.int64)
        records: list[dict[str, np.ndarray]] = []
        moves: list[dict[str, np.ndarray]] = []
        job_change = p.value("mobility", "job_change")
        promo_new = p.value("mobility", "promotion_new_position")

        def close(idx: np.ndarray, end_month: np.ndarray) -> None:
            if len(idx):
                records.append(
                    {
                        "person": idx.copy(),
                        "number": spell_number[idx].copy(),
                        "start": spell_start[idx].copy(),
                        "end": end_month.copy(),
                        "country": self.location[idx].copy(),
                        "firm": firm[idx].copy(),
                        "seniority": seniority[idx].copy(),
                        "salary": spell_salary[idx].copy(),
                        "ai": spell_ai[idx].copy(),
                    }
                )

        def open_(idx: np.ndarray, year: int, month: np.ndarray) -> None:
            spell_number[idx] += 1
            spell_start[idx] = year * 12 + month
            spell_ai[idx] = self.ai[idx]
            spell_salary[idx] = np.exp(
                self._log_wage(year, idx, self.location[idx], firm[idx], seniority[idx])
            )

        for year in range(first, last + 1):
            # A fixed set of draws per person and year, whatever happens: the stream does
            # not depend on the parameters (common random numbers for the calibration).
            self.u = {
                "month": rng.integers(0, 12, n),
                "end_month": rng.integers(0, 12, n),
                "ai": rng.random(n),
                "move": rng.random(n),
                "job": rng.random(n),
                "promo": rng.random(n),
                "firm": rng.random(n),
                "noise": rng.standard_normal(n),
            }
            month = self.u["month"]
            # careers that end: close the last spell in the last working year
            ending = np.flatnonzero(self.end == year)
            ending = ending[self.start[ending] < year]
            last_month = (year - 1) * 12 + self.u["end_month"][ending]
            close(ending, np.maximum(last_month, spell_start[ending]))
            # new careers start with a first job
            starting = np.flatnonzero(self.start == year)
            if len(starting):
                seniority[starting] = self._seniority(year)[starting]
                firm[starting] = w.draw_firms(
                    self.u["firm"][starting], self.location[starting], self.ai[starting]
                )
                open_(starting, year, month[starting])
            active = np.flatnonzero((self.start < year) & (self.end > year))
            if not len(active):
                continue
            # 1. AI skills are acquired (absorbing), with a new, AI-flavoured position
            new_ai = active[
                (~self.ai[active]) & (self.u["ai"][active] < self._hazard(year)[active])
            ]
            if len(new_ai):
                self.ai[new_ai] = True
                self.ai_year[new_ai] = year
                self.clusters[new_ai] = self.latent_clusters[new_ai]
            # 2. location choice
            choice = self._move_choice(year, active)
            stays = choice == self.location[active]
            moved = active[~stays]
            if len(moved):
                moves.append(
                    {
                        "person": moved.copy(),
                        "year": np.full(len(moved), year),
                        "from": self.location[moved].copy(),
                        "to": choice[~stays].copy(),
                        "ai": self.ai[moved].copy(),
                    }
                )
            # 3. employer changes within the country
            rate = np.where(self.ai[active], job_change["ai"], job_change["nonai"])
            changed = active[stays & (self.u["job"][active] < rate)]
            # 4. promotions
            new_sen = self._seniority(year)
            promoted = active[
                (new_sen[active] > seniority[active]) & (self.u["promo"][active] < promo_new)
            ]
            seniority[active] = new_sen[active]
            new_spell = np.unique(np.concatenate([new_ai, moved, changed, promoted]))
            close(new_spell, year * 12 + month[new_spell] - 1)
            if len(moved):
                self.location[moved] = choice[~stays]
            new_firm = np.unique(np.concatenate([moved, changed]))
            if len(new_firm):
                firm[new_firm] = w.draw_firms(
                    self.u["firm"][new_firm], self.location[new_firm], self.ai[new_firm]
                )
            open_(new_spell, year, month[new_spell])
        # spells still running at the end of the last year are open
        running = np.flatnonzero((self.start <= last) & (self.end > last))
        close(running, np.full(len(running), -1))
        return self._assemble(records, moves)

    # ---- output tables ---------------------------------------------------------------------
    def _assemble(self, records, moves) -> dict[str, pd.DataFrame]:
        w = self.w
        spells = {k: np.concatenate([r[k] for r in records]) for k in records[0]}
        order = np.lexsort((spells["number"], spells["person"]))
        spells = {k: v[order] for k, v in spells.items()}
        person = spells["person"]
        spell_frame = pd.DataFrame(
            {
                "user_id": self.user_id[person],
                "position_id": self.user_id[person] * POSITION_SLOTS + spells["number"],
                "position_number": spells["number"],
                "start_month": spells["start"],
                "end_month": spells["end"],
                "country": spells["country"],
                "firm": spells["firm"],
                "rcid": (spells["country"] + 1) * RCID_BASE + spells["firm"],
                "industry": w.firm_industry[spells["country"], spells["firm"]],
                "seniority": spells["seniority"],
                "salary": spells["salary"],
                "ai": spells["ai"],
                "occupation": self.occupation[person],
            }
        )
        cluster_bits = (self.clusters * (1 << np.arange(self.clusters.shape[1]))).sum(axis=1)
        persons = pd.DataFrame(
            {
                "user_id": self.user_id,
                "origin": self.origin,
                "female": self.female,
                "degree": self.degree,
                "major": self.major,
                "occupation": self.occupation,
                "career_start": self.start,
                "career_end": self.end,
                "ai_year": self.ai_year,
                "clusters": cluster_bits.astype(np.int64),
                "ba_country": self.ba_country,
                "grad_country": self.grad_country,
                "has_ba": self.has_ba,
                "has_grad": self.has_grad,
                "final_location": self.location,
            }
        )
        if moves:
            mv = {k: np.concatenate([m[k] for m in moves]) for k in moves[0]}
            move_frame = pd.DataFrame(
                {
                    "user_id": self.user_id[mv["person"]],
                    "year": mv["year"],
                    "from_country": mv["from"],
                    "to_country": mv["to"],
                    "ai": mv["ai"],
                    "origin": self.origin[mv["person"]],
                }
            )
        else:
            move_frame = pd.DataFrame(
                columns=["user_id", "year", "from_country", "to_country", "ai", "origin"]
            )
        return {"persons": persons, "spells": spell_frame, "moves": move_frame}
