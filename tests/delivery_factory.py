"""Small hand-made deliveries for the reader's tests.

``clean_tables()`` returns four tiny, valid tables (as DataFrames, contract
names); ``write_delivery`` writes them in any layout the contract allows: parquet
or CSV, standard or ``academic_`` table names, unversioned or versioned column
names, one file or several part files per table, folders or top-level files.
Tests start from the valid tables and break exactly one thing.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

STANDARD = {
    "users": "individual_user",
    "positions": "individual_positions",
    "education": "individual_user_education",
    "skills": "individual_user_skills",
}
ACADEMIC = {
    "users": "academic_individual_user",
    "positions": "academic_individual_position",
    "education": "academic_individual_user_education",
    "skills": "academic_individual_user_skill",
}
#: unversioned -> versioned column names (the newer schema family)
VERSIONED_RENAMES = {
    "positions": {"role_k1500": "role_k1500_v2", "company": "company_name"},
    "skills": {"skill_mapped": "skill_k35000"},
}


def clean_tables() -> dict[str, pd.DataFrame]:
    """Four valid tables: 4 people, 6 spells, 4 education rows, 5 skills."""
    users = pd.DataFrame(
        {
            "user_id": np.array([1, 2, 3, 4], dtype="int64"),
            "sex_predicted": ["female", "male", None, "male"],
            "f_prob": [0.9, 0.1, 0.5, None],
            "highest_degree": ["Master", "Bachelor", "Doctor", None],
            "user_country": ["South Korea", "United States", "Korea, Republic of", None],
            "updated_dt": pd.to_datetime(["2024-12-15"] * 4).date,
            "extra_user_col": ["a", "b", "c", "d"],
        }
    )
    positions = pd.DataFrame(
        {
            "user_id": np.array([1, 1, 2, 3, 3, 4], dtype="int64"),
            "position_id": np.array([10, 11, 20, 30, 31, 40], dtype="int64"),
            "rcid": pd.array([100, 101, 200, None, 300, 400], dtype="Int64"),
            "company": ["Naver", "Google", "Meta", None, "Samsung", "Kakao"],
            "startdate": pd.to_datetime(
                ["2012-01-01", "2018-03-01", "2015-06-01", "2010-01-01", "2016-01-01", "2020-02-01"]
            ).date,
            "enddate": pd.to_datetime(
                ["2018-02-01", None, None, "2015-12-01", "2023-05-01", None]
            ).date,
            "country": [
                "South Korea",
                "United States",
                "United States",
                "Republic of Korea",
                "South Korea",
                "Korea, Republic of",
            ],
            "state": [None, "California", "Washington", None, None, None],
            "metro_area": ["Seoul", "San Francisco", "Seattle", "Seoul", "Suwon", "Seoul"],
            "role_k1500": [
                "data scientist",
                "ml engineer",
                "software engineer",
                "analyst",
                "researcher",
                "engineer",
            ],
            "seniority": pd.array([2, 3, 4, 1, 3, 2], dtype="Int64"),
            "salary": [40000.0, 180000.0, 150000.0, None, 60000.0, 45000.0],
            "total_compensation": [42000.0, 230000.0, 190000.0, None, 65000.0, 47000.0],
            "weight": [1.5, 0.8, 0.9, 2.0, 1.2, 1.1],
            "position_number": pd.array([1, 2, 1, 1, 2, 1], dtype="Int64"),
        }
    )
    education = pd.DataFrame(
        {
            "user_id": np.array([1, 1, 2, 3], dtype="int64"),
            "education_number": pd.array([1, 2, 1, 1], dtype="Int64"),
            "university_name": ["Seoul High", "KAIST", "MIT", "SNU"],
            "university_country": ["South Korea", "South Korea", "United States", "South Korea"],
            "degree": ["High School", "Master", "Bachelor", "Doctor"],
            "field": [None, "Computer Science", "Mathematics", "Physics"],
            "startdate": pd.to_datetime(["2003-03-01", "2008-03-01", "2009-09-01", None]).date,
            "enddate": pd.to_datetime(["2006-02-01", "2011-02-01", "2013-06-01", None]).date,
        }
    )
    skills = pd.DataFrame(
        {
            "user_id": np.array([1, 1, 2, 3, 4], dtype="int64"),
            "skill_raw": [
                "Machine Learning",
                "Python",
                "Deep Learning",
                "Signal Processing",
                "Excel",
            ],
            "skill_mapped": [
                "machine learning",
                "python",
                "deep learning",
                "signal processing",
                "excel",
            ],
            "skill_source": ["R", "R", "P", "R", "R"],
            "first_reported": pd.to_datetime(
                ["2015-01-01", "2012-01-01", None, "2011-01-01", "2020-01-01"]
            ).date,
        }
    )
    return {"users": users, "positions": positions, "education": education, "skills": skills}


def write_delivery(
    root: Path,
    tables: dict[str, pd.DataFrame] | None = None,
    *,
    fmt: str = "parquet",
    names: dict[str, str] = STANDARD,
    versioned: bool = False,
    parts: int = 1,
    folders: bool = True,
) -> Path:
    """Write ``tables`` as a delivery under ``root`` and return ``root``."""
    tables = clean_tables() if tables is None else tables
    root.mkdir(parents=True, exist_ok=True)
    for table, frame in tables.items():
        if versioned:
            frame = frame.rename(columns=VERSIONED_RENAMES.get(table, {}))
        stem = names[table]
        folder = root / stem if folders else root
        folder.mkdir(parents=True, exist_ok=True)
        chunks = np.array_split(np.arange(len(frame)), parts)
        for i, idx in enumerate(chunks):
            part = frame.iloc[idx]
            path = folder / f"{stem}_{i:04d}_part_00.{fmt}"
            if fmt == "parquet":
                part.to_parquet(path, index=False)
            else:
                part.to_csv(path, index=False)
    return root


def part_path(root: Path, table: str, i: int = 0, *, fmt: str = "parquet") -> Path:
    """The path ``write_delivery`` (standard names, folders) gives part ``i`` of ``table``."""
    stem = STANDARD[table]
    return root / stem / f"{stem}_{i:04d}_part_00.{fmt}"


def corrupt_parquet_column(path: Path, column: str) -> None:
    """Break the data pages of ``column`` in ``path``, leaving the footer intact.

    The first bytes of the column's first page (its header) are overwritten, so the
    file opens, its schema and row counts read fine, and only a query that reads
    that column's values fails.
    """
    import pyarrow.parquet as pq

    chunk = pq.ParquetFile(path).metadata.row_group(0)
    names = [chunk.column(i).path_in_schema for i in range(chunk.num_columns)]
    meta = chunk.column(names.index(column))
    offset = meta.dictionary_page_offset or meta.data_page_offset
    data = bytearray(path.read_bytes())
    data[offset : offset + 12] = b"\xff" * 12
    path.write_bytes(bytes(data))


def many_positions(n: int) -> pd.DataFrame:
    """``n`` valid spells of the four users of ``clean_tables`` (unique position ids)."""
    base = clean_tables()["positions"]
    frame = base.iloc[np.arange(n) % len(base)].reset_index(drop=True)
    frame["position_id"] = np.arange(1, n + 1, dtype="int64") * 100
    return frame
