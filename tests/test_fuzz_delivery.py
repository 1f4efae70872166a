"""Byte-level fuzzing of small deliveries (hypothesis).

Each example writes the hand-made delivery (:mod:`delivery_factory`) as CSV, gzipped
CSV or parquet, then corrupts one part file: bytes flipped, overwritten, inserted,
deleted or the file truncated, anywhere in it. Whatever the bytes, reading must end
in a :class:`~analysis.sources.revelio.DeliveryError` that names the table or the file,
or in a delivery whose ledger balances (rows read = kept + quarantined) and whose
other tables are exactly the original ones; never in another exception.

Without a checksum no reader can tell a changed digit from a real value, so the
strict property is tested where deliveries carry one: when the delivery's
``manifest.json`` lists the hash of every part file, any change of a part file's bytes
is refused by ``clean`` with the file named, and an unchanged file is read as before.
"""

from __future__ import annotations

import gzip
import json
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from delivery_factory import STANDARD, write_delivery
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.clean import clean_delivery
from analysis.io import sha256_file
from analysis.sources.revelio import DeliveryError, read_delivery

TABLES = list(STANDARD)
FUZZ = settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,  # the same examples in every run: a failure reproduces
)


def _write(root: Path, fmt: str) -> Path:
    write_delivery(root, fmt="parquet" if fmt == "parquet" else "csv")
    if fmt == "csv.gz":
        for path in sorted(root.rglob("*.csv")):
            path.with_name(path.name + ".gz").write_bytes(gzip.compress(path.read_bytes(), mtime=0))
            path.unlink()
    return root


def _part(root: Path, table: str) -> Path:
    return next(
        p for p in sorted(root.rglob("*")) if p.is_file() and STANDARD[table] in p.parent.name
    )


@st.composite
def corruptions(draw):
    """A corruption: (kind, relative position, bytes)."""
    kind = draw(st.sampled_from(["flip", "overwrite", "insert", "delete", "truncate"]))
    where = draw(st.floats(0.0, 1.0, allow_nan=False))
    payload = draw(st.binary(min_size=1, max_size=8))
    return kind, where, payload


def _corrupt(path: Path, kind: str, where: float, payload: bytes) -> None:
    data = bytearray(path.read_bytes())
    at = min(int(where * len(data)), len(data) - 1)
    if kind == "flip":
        data[at] ^= payload[0] or 0xFF
    elif kind == "overwrite":
        data[at : at + len(payload)] = payload
    elif kind == "insert":
        data[at:at] = payload
    elif kind == "delete":
        del data[at : at + len(payload)]
    else:
        del data[at:]
    path.write_bytes(bytes(data))


def _valid_rows(delivery, table: str) -> pd.DataFrame:
    frame = delivery.to_pandas(table).drop(columns=["source_file", "source_row"])
    return frame.sort_values(list(frame.columns[:2])).reset_index(drop=True)


@pytest.fixture(scope="module")
def originals() -> dict[str, dict[str, pd.DataFrame]]:
    """The valid rows of each table of the uncorrupted delivery, by format."""
    out = {}
    for fmt in ("csv", "csv.gz", "parquet"):
        with tempfile.TemporaryDirectory() as tmp:
            delivery = read_delivery(_write(Path(tmp) / "d", fmt))
            out[fmt] = {t: _valid_rows(delivery, t) for t in TABLES}
            delivery.con.close()
    return out


@FUZZ
@given(
    fmt=st.sampled_from(["csv", "csv.gz", "parquet"]),
    table=st.sampled_from(TABLES),
    corruption=corruptions(),
)
def test_corrupted_bytes_give_a_named_error_or_a_balanced_read(originals, fmt, table, corruption):
    with tempfile.TemporaryDirectory() as tmp:
        root = _write(Path(tmp) / "d", fmt)
        target = _part(root, table)
        _corrupt(target, *corruption)
        try:
            delivery = read_delivery(root)
            counts = delivery.row_counts
            others = {t: _valid_rows(delivery, t) for t in TABLES if t != table}
        except DeliveryError as exc:
            message = str(exc)
            assert table in message or target.name in message, message
            return
        for name, c in counts.items():
            assert c["rows_read"] == c["rows_kept"] + c["rows_quarantined"], (name, c)
        # users is the other tables' reference: a user lost from it sends their rows to
        # quarantine ("user_id not in users"), counted, not dropped
        for name, frame in others.items():
            if table == "users":
                kept = originals[fmt][name].merge(frame, how="inner")
                assert len(kept) == len(frame), name
            else:
                pd.testing.assert_frame_equal(frame, originals[fmt][name], check_dtype=False)
        delivery.con.close()


@FUZZ
@given(
    fmt=st.sampled_from(["csv", "parquet"]),
    table=st.sampled_from(TABLES),
    corruption=corruptions(),
)
def test_a_delivery_manifest_refuses_any_changed_byte(fmt, table, corruption):
    with tempfile.TemporaryDirectory() as tmp:
        root = _write(Path(tmp) / "d", fmt)
        files = sorted(p for p in root.rglob("*") if p.is_file())
        manifest = [
            {"path": p.relative_to(root).as_posix(), "sha256": sha256_file(p)} for p in files
        ]
        (root / "manifest.json").write_text(json.dumps({"files": manifest}))
        target = _part(root, table)
        before = target.read_bytes()
        _corrupt(target, *corruption)
        changed = target.read_bytes() != before
        try:
            clean_delivery(root, Path(tmp) / "out")
        except DeliveryError as exc:
            assert target.name in str(exc) or table in str(exc), str(exc)
            assert changed, str(exc)
            return
        assert not changed, "a changed part file was read without error"
