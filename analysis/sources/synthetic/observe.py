"""From the world's true histories to what a data vendor delivers.

Three things happen between the economy and the delivery, as with the real data:

1. **Coverage.** A person appears on LinkedIn with probability
   ``coverage[origin] * coverage[occupation]``. Each observed person carries the
   sampling weight ``population_factor / coverage`` (written to ``weight``), so
   weighted counts estimate the represented population.
2. **Layout.** Histories become the four contract tables: spells become positions
   with month-level dates, country names and salaries; degrees become education
   rows (the origin is where a person went to school); AI clusters become skill rows
   named as profiles name them (``analysis/data/ai_skill_taxonomy.csv``).
3. **Mess**, at the rates of ``[mess]`` in ``params.toml``: overlapping side jobs,
   missing salaries and locations, country-name variants, duplicate skill rows, and a
   few malformed rows that the reader must quarantine (their ids are returned so a
   test can check the quarantine is exact).

The truth tables returned beside the delivery (true stocks and moves of the whole
simulated population, before coverage) exist for tests of the estimators; no
estimator reads them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.sources.synthetic.world import POSITION_SLOTS, World
from analysis.sources.taxonomy import load_ai_taxonomy

#: Standard English name, then variants, of each country (all map to the code).
COUNTRY_NAMES: dict[str, tuple[str, ...]] = {
    "KOR": ("South Korea", "Korea, Republic of", "Republic of Korea", "Korea"),
    "USA": ("United States", "United States of America", "USA"),
    "CAN": ("Canada", "CA - Canada"),
    "GBR": ("United Kingdom", "UK", "Great Britain"),
    "FRA": ("France", "French Republic"),
    "AUS": ("Australia", "Commonwealth of Australia"),
    "DEU": ("Germany", "Federal Republic of Germany", "DEU"),
    "JPN": ("Japan", "JPN"),
    "SGP": ("Singapore", "Republic of Singapore"),
}
#: A name that no country matches: the "unknown country" malformed rows.
UNKNOWN_COUNTRY = "Atlantis"
METROS: dict[str, tuple[str, ...]] = {
    "KOR": ("Seoul", "Seongnam", "Daejeon", "Busan"),
    "USA": ("San Francisco Bay Area", "New York City", "Seattle", "Boston"),
    "CAN": ("Toronto", "Vancouver", "Montreal"),
    "GBR": ("London", "Cambridge", "Manchester"),
    "FRA": ("Paris", "Lyon", "Toulouse"),
    "AUS": ("Sydney", "Melbourne", "Brisbane"),
    "DEU": ("Berlin", "Munich", "Hamburg"),
    "JPN": ("Tokyo", "Osaka", "Nagoya"),
    "SGP": ("Singapore",),
}
US_STATES = {
    "San Francisco Bay Area": "California",
    "New York City": "New York",
    "Seattle": "Washington",
    "Boston": "Massachusetts",
}
ROLES: dict[str, tuple[str, ...]] = {
    "Engineer": (
        "software engineer",
        "hardware engineer",
        "systems engineer",
        "electrical engineer",
    ),
    "Scientist": ("research scientist", "chemist", "physicist"),
    "Admin": ("administrative assistant", "office manager", "human resources specialist"),
    "Finance": ("financial analyst", "accountant", "auditor"),
    "Marketing": ("marketing manager", "brand manager", "communications specialist"),
    "Sales": ("sales representative", "account manager", "business development manager"),
    "Operations": ("operations manager", "supply chain analyst", "project manager"),
}
AI_ROLES: dict[str, tuple[str, ...]] = {
    "Engineer": ("machine learning engineer", "data engineer", "ai engineer"),
    "Scientist": ("data scientist", "ai research scientist"),
}
OTHER_SKILLS = (
    "Python",
    "SQL",
    "Java",
    "C++",
    "Microsoft Excel",
    "Project Management",
    "Leadership",
    "Communication",
    "Data Analysis",
    "Statistics",
    "Marketing Strategy",
    "Sales",
    "Negotiation",
    "Accounting",
    "Financial Analysis",
    "Customer Service",
    "Teamwork",
    "Public Speaking",
    "Research",
    "Management",
    "Strategic Planning",
    "Linux",
    "Git",
    "JavaScript",
    "Product Management",
    "Business Analysis",
    "Supply Chain Management",
    "Human Resources",
    "Recruiting",
    "Operations Management",
)
_POST_HS_YEARS = {
    "High School": 0,
    "Associate": 2,
    "Bachelor": 4,
    "Master": 6,
    "MBA": 6,
    "Doctor": 9,
}


class KeyedUniform:
    """Uniform draws tied to integer keys (position or person ids) rather than to the
    position in a random stream: the draw for a key does not change when the set of
    keys does. This keeps the observation layer a common-random-numbers map of the
    parameters, which the calibration needs. Hashing is splitmix64.
    """

    def __init__(self, seed: int) -> None:
        self.seed = np.uint64(seed % 2**63)

    def __call__(self, keys: np.ndarray, salt: int) -> np.ndarray:
        with np.errstate(over="ignore"):
            z = np.asarray(keys, dtype=np.int64).astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
            z = z + self.seed * np.uint64(0xBF58476D1CE4E5B9) + np.uint64(salt)
            z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
            z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
            z = z ^ (z >> np.uint64(31))
        return (z >> np.uint64(11)).astype(np.float64) / float(2**53)

    def integers(self, keys: np.ndarray, salt: int, low: int, high: int) -> np.ndarray:
        return low + np.floor(self(keys, salt) * (high - low)).astype(np.int64)


def month_to_date(months: np.ndarray) -> np.ndarray:
    """Months since year 0 (``year * 12 + month0``) to first-of-month dates."""
    months = np.asarray(months, dtype=np.int64)
    years = months // 12
    return (
        (years - 1970).astype("datetime64[Y]").astype("datetime64[M]")
        + (months % 12).astype("timedelta64[M]")
    ).astype("datetime64[D]")


class Observer:
    """Turns one simulated chunk into delivery tables (see the module docstring)."""

    def __init__(self, world: World, scale: float) -> None:
        self.w = world
        self.p = world.params
        self.scale = scale
        countries = world.countries
        self.names = [COUNTRY_NAMES[c] for c in countries]
        persons = self.p.value("world", "persons_per_origin")
        population = self.p.value("world", "represented_population")
        #: persons of the represented population that each simulated person stands for
        self.population_factor = np.array([population[c] / (persons[c] * scale) for c in countries])
        cov_o = np.array([self.p.value("coverage", "by_origin")[c] for c in countries])
        cov_occ = np.array(
            [self.p.value("coverage", "by_occupation")[k] for k in world.occupations[0]]
        )
        self.coverage = cov_o[:, None] * cov_occ[None, :]  # origin x occupation
        taxonomy = load_ai_taxonomy()
        self.skill_names: list[list[tuple[str, str]]] = []
        for cluster in world.cluster_names:
            rows = taxonomy[taxonomy["cluster"] == cluster]
            raw = rows[rows["name_type"] == "raw"]
            pairs = list(zip(raw["name"], raw["mapped_name"], strict=True))
            self.skill_names.append(pairs)

    # ---- helpers -----------------------------------------------------------------------
    def _country_strings(
        self, codes: np.ndarray, u_variant: np.ndarray, u_pick: np.ndarray
    ) -> np.ndarray:
        rate = self.p.value("mess", "country_variant")
        out = np.empty(len(codes), dtype=object)
        variant = u_variant < rate
        pick = np.floor(u_pick * 1000).astype(np.int64)
        for c, names in enumerate(self.names):
            idx = codes == c
            std = idx & ~variant
            out[std] = names[0]
            var = idx & variant
            if len(names) > 1:
                out[var] = np.array(names[1:], dtype=object)[pick[var] % (len(names) - 1)]
            else:
                out[var] = names[0]
        return out

    # ---- the delivery tables -------------------------------------------------------------
    def observe(
        self,
        sim: dict[str, pd.DataFrame],
        rng: np.random.Generator,
    ) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
        """Delivery tables of the observed persons, and the list of malformed rows."""
        persons, spells = sim["persons"], sim["spells"]
        r_cov, r_users, r_edu, r_skills, r_bad = rng.spawn(5)
        self.keyed = KeyedUniform(int(rng.integers(2**62)))
        seen = r_cov.random(len(persons)) < self.coverage[persons["origin"], persons["occupation"]]
        persons = persons[seen].reset_index(drop=True)
        weight = (
            self.population_factor[persons["origin"]]
            / self.coverage[persons["origin"], persons["occupation"]]
        )
        persons = persons.assign(weight=weight)
        spells = spells[spells["user_id"].isin(persons["user_id"])].reset_index(drop=True)
        spells = spells.merge(persons[["user_id", "weight"]], on="user_id", how="left")
        positions = self._positions(spells, persons)
        positions, malformed = self._inject_malformed(positions, r_bad)
        tables = {
            "users": self._users(persons, spells, r_users),
            "positions": positions,
            "education": self._education(persons, r_edu),
            "skills": self._skills(persons, r_skills),
        }
        return tables, malformed

    def _users(
        self, persons: pd.DataFrame, spells: pd.DataFrame, rng: np.random.Generator
    ) -> pd.DataFrame:
        n = len(persons)
        f_prob = np.where(persons["female"], rng.beta(9, 1.5, n), rng.beta(1.5, 9, n))
        f_prob = np.round(f_prob, 4)
        last_country = (
            spells.groupby("user_id")["country"].last().reindex(persons["user_id"]).to_numpy()
        )
        country = self._country_strings(last_country.astype(np.int64), rng.random(n), rng.random(n))
        country[rng.random(n) < self.p.value("mess", "missing_user_country")] = None
        degree = np.array(self.w.degrees[0], dtype=object)[persons["degree"]]
        degree[rng.random(n) < 0.05] = None
        delivery = np.datetime64(self.p.value("world", "delivery_date"))
        updated = delivery - rng.integers(1, 45, n).astype("timedelta64[D]")
        sex = np.where(f_prob >= 0.5, "female", "male").astype(object)
        sex[rng.random(n) < 0.03] = None
        return pd.DataFrame(
            {
                "user_id": persons["user_id"].to_numpy(np.int64),
                "sex_predicted": sex,
                "f_prob": f_prob,
                "highest_degree": degree,
                "user_country": country,
                "updated_dt": updated,
            }
        )

    def _positions(self, spells: pd.DataFrame, persons: pd.DataFrame) -> pd.DataFrame:
        p, u = self.p, self.keyed
        spells = self._add_side_jobs(spells, persons)
        pid = spells["position_id"].to_numpy()
        codes = np.array(self.w.countries)[spells["country"]]
        metro = np.array(
            [
                METROS[c][i % len(METROS[c])]
                for c, i in zip(codes, u.integers(pid, 1, 0, 100), strict=True)
            ],
            dtype=object,
        )
        state = np.array(
            [US_STATES.get(m) if c == "USA" else None for c, m in zip(codes, metro, strict=True)],
            dtype=object,
        )
        occ_labels = self.w.occupations[0]
        pick = u.integers(pid, 2, 0, 100)
        roles = []
        for occ, ai, k in zip(spells["occupation"], spells["ai"], pick, strict=True):
            label = occ_labels[occ]
            table = AI_ROLES.get(label) if ai else None
            options = table or ROLES[label]
            roles.append(options[k % len(options)])
        salary = np.round(spells["salary"].to_numpy(), 0)
        bonus = np.array([p.by_country("wage", "bonus_share", c) for c in self.w.countries])
        total = np.round(salary * (1 + bonus[spells["country"]] * (0.5 + u(pid, 3))), 0)
        missing_salary = u(pid, 4) < p.value("mess", "missing_salary")
        salary = np.where(missing_salary, np.nan, salary)
        total = np.where(
            missing_salary | (u(pid, 5) < p.value("mess", "missing_total_compensation")),
            np.nan,
            total,
        )
        country = self._country_strings(spells["country"].to_numpy(), u(pid, 6), u(pid, 7))
        country[u(pid, 8) < p.value("mess", "missing_country")] = None
        end = spells["end_month"].to_numpy()
        enddate = np.where(end >= 0, month_to_date(np.maximum(end, 0)), np.datetime64("NaT"))
        industry = np.array(
            [
                "Information Services",
                "Manufacturing",
                "Finance and Insurance",
                "Professional Services",
                "Wholesale and Retail",
                "Other Services",
            ],
            dtype=object,
        )[spells["industry"]]
        return pd.DataFrame(
            {
                "user_id": spells["user_id"].to_numpy(np.int64),
                "position_id": spells["position_id"].to_numpy(np.int64),
                "rcid": spells["rcid"].to_numpy(np.int64),
                "company": [
                    f"Company {r % 1_000_000:04d} ({c})"
                    for r, c in zip(spells["rcid"], codes, strict=True)
                ],
                "startdate": month_to_date(spells["start_month"].to_numpy()),
                "enddate": enddate.astype("datetime64[D]"),
                "country": country,
                "state": state,
                "metro_area": metro,
                "role_k1500": roles,
                "job_category": np.array(occ_labels, dtype=object)[spells["occupation"]],
                "seniority": spells["seniority"].to_numpy(np.int64),
                "salary": salary,
                "total_compensation": total,
                "weight": np.round(spells["weight"].to_numpy(), 4),
                "position_number": spells["position_number"].to_numpy(np.int64),
                "industry": industry,
            }
        )

    def _add_side_jobs(self, spells: pd.DataFrame, persons: pd.DataFrame) -> pd.DataFrame:
        """Overlapping side jobs: a second, part-time position inside a main spell."""
        u = self.keyed
        rate = self.p.value("mess", "side_job_rate")
        who = persons["user_id"][u(persons["user_id"].to_numpy(), 11) < rate]
        candidates = spells[spells["user_id"].isin(who)]
        # the host spell: the one with the smallest keyed draw of each chosen person
        order = u(candidates["position_id"].to_numpy(), 12)
        host = (
            candidates.assign(_u=order)
            .sort_values(["user_id", "_u"])
            .drop_duplicates("user_id")
            .drop(columns="_u")
            .reset_index(drop=True)
        )
        if host.empty:
            return spells
        hid = host["user_id"].to_numpy()
        last_number = spells.groupby("user_id")["position_number"].max()
        length = u.integers(hid, 13, 6, 30)
        start = host["start_month"].to_numpy() + u.integers(hid, 14, 0, 6)
        end = host["end_month"].to_numpy()
        end = np.where(
            end < 0,
            np.where(u(hid, 15) < 0.5, -1, start + length),
            np.minimum(end, start + length),
        )
        end = np.where((end >= 0) & (end < start), start, end)
        side = host.assign(
            start_month=start,
            end_month=end,
            position_number=last_number.reindex(host["user_id"]).to_numpy() + 1,
            seniority=np.maximum(host["seniority"] - 1, 1),
            salary=host["salary"] * (0.15 + 0.25 * u(hid, 16)),
            firm=u.integers(hid, 17, 0, self.w.firm_effect.shape[1]),
        )
        side["rcid"] = (side["country"] + 1) * 1_000_000 + side["firm"]
        side["position_id"] = side["user_id"] * POSITION_SLOTS + side["position_number"]
        return (
            pd.concat([spells, side], ignore_index=True)
            .sort_values(["user_id", "position_number"], kind="stable")
            .reset_index(drop=True)
        )

    def _inject_malformed(
        self,
        positions: pd.DataFrame,
        rng: np.random.Generator,
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Corrupt a few rows, one problem each, and list them (id and reason)."""
        rates = self.p.value("mess", "malformed_per_100k")
        n = len(positions)
        counts = {reason: int(rng.binomial(n, per / 100_000)) for reason, per in rates.items()}
        chosen = rng.choice(n, size=min(n, sum(counts.values())), replace=False)
        positions = positions.copy()
        rows, start = [], 0
        for reason, k in counts.items():
            idx = chosen[start : start + k]
            start += k
            if reason == "enddate before startdate":
                positions.loc[idx, "enddate"] = (
                    positions.loc[idx, "startdate"] - pd.DateOffset(months=3)
                ).to_numpy()
            elif reason == "salary not positive":
                positions.loc[idx, "salary"] = np.where(rng.random(len(idx)) < 0.5, 0.0, -1000.0)
            elif reason == "seniority outside 1..7":
                positions.loc[idx, "seniority"] = np.where(rng.random(len(idx)) < 0.5, 0, 8)
            elif reason == "unknown country":
                positions.loc[idx, "country"] = UNKNOWN_COUNTRY
            elif reason == "weight not positive":
                positions.loc[idx, "weight"] = 0.0
            else:  # pragma: no cover - guarded by the parameters file
                raise ValueError(f"unknown malformed-row kind {reason!r}")
            rows.append(
                pd.DataFrame({"position_id": positions.loc[idx, "position_id"], "reason": reason})
            )
        malformed = (
            pd.concat(rows, ignore_index=True)
            if rows
            else pd.DataFrame(columns=["position_id", "reason"])
        )
        return positions, malformed

    def _education(self, persons: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
        deg_labels = np.array(self.w.degrees[0], dtype=object)
        maj_labels = np.array(self.w.majors[0], dtype=object)
        degree = deg_labels[persons["degree"]]
        post = np.array([_POST_HS_YEARS[d] for d in degree])
        career = persons["career_start"].to_numpy()
        origin = persons["origin"].to_numpy()
        frames = []
        uid = persons["user_id"].to_numpy(np.int64)

        def add(mask, country, deg, start_year, end_year, field):
            m = np.asarray(mask)
            if not m.any():
                return
            frames.append(
                pd.DataFrame(
                    {
                        "user_id": uid[m],
                        "country": country[m],
                        "degree": deg[m] if isinstance(deg, np.ndarray) else deg,
                        "start": start_year[m],
                        "end": end_year[m],
                        "field": field[m] if isinstance(field, np.ndarray) else field,
                    }
                )
            )

        hs_end = career - post
        hs_recorded = (degree == "High School") | (
            rng.random(len(persons)) < self.p.value("education", "high_school_recorded")
        )
        add(hs_recorded, origin, "High School", hs_end - 3, hs_end, None)
        add(
            degree == "Associate",
            origin,
            "Associate",
            career - 2,
            career,
            maj_labels[persons["major"]],
        )
        has_ba = persons["has_ba"].to_numpy()
        ba_country = persons["ba_country"].to_numpy()
        add(has_ba, ba_country, "Bachelor", hs_end, hs_end + 4, maj_labels[persons["major"]])
        has_grad = persons["has_grad"].to_numpy()
        add(
            has_grad,
            persons["grad_country"].to_numpy(),
            degree,
            hs_end + 4,
            career,
            maj_labels[persons["major"]],
        )
        edu = (
            pd.concat(frames, ignore_index=True)
            .sort_values(["user_id", "start"], kind="stable")
            .reset_index(drop=True)
        )
        edu["education_number"] = edu.groupby("user_id").cumcount() + 1
        names = np.array([COUNTRY_NAMES[c][0] for c in self.w.countries], dtype=object)
        metros = [METROS[c][0] for c in self.w.countries]
        kind = np.where(edu["degree"] == "High School", "High School", "University")
        university = [
            f"{metros[c]} {k} {u % 7 + 1}"
            for c, k, u in zip(edu["country"], kind, edu["user_id"], strict=True)
        ]
        start = month_to_date(edu["start"].to_numpy() * 12 + 2)
        end = month_to_date(edu["end"].to_numpy() * 12 + 1)
        return pd.DataFrame(
            {
                "user_id": edu["user_id"].to_numpy(np.int64),
                "education_number": edu["education_number"].to_numpy(np.int64),
                "university_name": university,
                "university_country": names[edu["country"]],
                "degree": edu["degree"].to_numpy(object),
                "field": edu["field"].to_numpy(object),
                "startdate": start,
                "enddate": end,
            }
        )

    def _skills(self, persons: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
        last = int(self.p.value("world", "last_year"))
        uid = persons["user_id"].to_numpy(np.int64)
        ai = (persons["ai_year"].to_numpy() >= 0) & (persons["ai_year"].to_numpy() <= last)
        bits = persons["clusters"].to_numpy()
        frames = []
        keyed = self.keyed
        for k, pairs in enumerate(self.skill_names):
            holders = np.flatnonzero(ai & ((bits >> k) & 1).astype(bool))
            if not len(holders):
                continue
            pick = keyed.integers(uid[holders], 100 + k, 0, len(pairs))
            raw = np.array([pairs[i][0] for i in pick], dtype=object)
            mapped = np.array([pairs[i][1] for i in pick], dtype=object)
            year = persons["ai_year"].to_numpy()[holders]
            frames.append(
                pd.DataFrame(
                    {
                        "user_id": uid[holders],
                        "skill_raw": raw,
                        "skill_mapped": mapped,
                        "first_month": year * 12 + keyed.integers(uid[holders], 200 + k, 0, 12),
                    }
                )
            )
        n_other = rng.integers(3, 9, len(persons))
        owner = np.repeat(np.arange(len(persons)), n_other)
        names = np.array(OTHER_SKILLS, dtype=object)
        picked = names[rng.integers(0, len(names), len(owner))]
        career = persons["career_start"].to_numpy()[owner]
        first = (career + rng.integers(0, 6, len(owner))).clip(max=last) * 12
        frames.append(
            pd.DataFrame(
                {
                    "user_id": uid[owner],
                    "skill_raw": picked,
                    "skill_mapped": np.char.lower(picked.astype(str)).astype(object),
                    "first_month": first + rng.integers(0, 12, len(owner)),
                }
            )
        )
        skills = (
            pd.concat(frames, ignore_index=True)
            .drop_duplicates(["user_id", "skill_mapped"])
            .sort_values(["user_id", "skill_mapped"], kind="stable")
        )
        dup = skills[rng.random(len(skills)) < self.p.value("mess", "duplicate_skill")]
        skills = (
            pd.concat([skills, dup])
            .sort_values(["user_id", "skill_mapped"], kind="stable")
            .reset_index(drop=True)
        )
        n = len(skills)
        return pd.DataFrame(
            {
                "user_id": skills["user_id"].to_numpy(np.int64),
                "skill_raw": skills["skill_raw"].to_numpy(object),
                "skill_mapped": skills["skill_mapped"].to_numpy(object),
                "skill_source": np.where(rng.random(n) < 0.85, "R", "P").astype(object),
                "first_reported": month_to_date(skills["first_month"].to_numpy()),
            }
        )


def truth_tables(
    world: World, sim: dict[str, pd.DataFrame], population_factor: np.ndarray, years: range
) -> dict[str, pd.DataFrame]:
    """True weighted stocks and moves of the whole simulated population (no coverage).

    ``stocks``: persons by (year, origin, location, ai), where location is the country of
    the spell held at mid-year and ai means AI skills acquired by that year.
    ``moves``: country changes by (year, origin, from, to, ai).
    """
    persons, spells = sim["persons"], sim["spells"]
    factor = pd.Series(population_factor[persons["origin"]], index=persons["user_id"])
    ai_year = pd.Series(persons["ai_year"].to_numpy(), index=persons["user_id"])
    origin = pd.Series(persons["origin"].to_numpy(), index=persons["user_id"])
    frames = []
    end = spells["end_month"].where(spells["end_month"] >= 0, np.iinfo(np.int64).max)
    for year in years:
        mid = year * 12 + 6
        live = spells[(spells["start_month"] <= mid) & (end >= mid)]
        live = live.drop_duplicates("user_id")
        uid = live["user_id"]
        ay = ai_year.reindex(uid).to_numpy()
        frames.append(
            pd.DataFrame(
                {
                    "year": year,
                    "origin": origin.reindex(uid).to_numpy(),
                    "location": live["country"].to_numpy(),
                    "ai": (ay >= 0) & (ay <= year),
                    "persons": factor.reindex(uid).to_numpy(),
                }
            )
        )
    stocks = (
        pd.concat(frames)
        .groupby(["year", "origin", "location", "ai"], as_index=False)["persons"]
        .sum()
    )
    moves = sim["moves"]
    moves = moves[moves["year"].isin(list(years))].assign(
        persons=lambda m: factor.reindex(m["user_id"]).to_numpy()
    )
    moves = moves.groupby(["year", "origin", "from_country", "to_country", "ai"], as_index=False)[
        "persons"
    ].sum()
    return {"stocks": stocks, "moves": moves}
