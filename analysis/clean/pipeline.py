"""Clean a delivery into the processed tables: panel, persons, moves, ledger, manifest.

The flow of :func:`clean_delivery`:

1. read and validate the delivery (:func:`analysis.sources.revelio.read_delivery`);
   the reader's ledger, with its quarantine counts, opens the cleaning ledger;
2. stage the valid, typed tables to ``<out>/_staging/*.parquet`` (streamed by
   DuckDB, in no particular row order) with the reference tables (years, AI taxonomy,
   PPP price levels);
3. run the Ibis expressions of :mod:`analysis.clean.panel` on the chosen engine over
   the staged files, for all persons at once or, above ``rows_per_bucket``
   spell-years, for one range of ``user_id`` after the other, whose outputs are then
   put end to end (:mod:`analysis.clean.buckets`; the files are the same either way).
   Two intermediate tables are materialized into ``<out>/_work``
   first, so that no single query holds both the windows and the panel's joins: the
   main job of each person-year (chosen from the spell-years of the columns the panel
   keeps, :data:`~analysis.clean.panel.MAIN_JOB_COLUMNS`) and one row of person
   attributes per user (origin, field, AI skills), which both the panel and the persons
   table join. Each output is written through the one DuckDB writer
   (:mod:`analysis.clean.writer`): typed, sorted by key, atomic, reproducible;
4. count every step into the ledger (:mod:`analysis.clean.attrition`) and write
   ``ledger.parquet`` and ``manifest.json``.

Memory: on DuckDB every step is a streaming query over parquet that spills to
``<out>/_tmp`` beyond ``memory_limit``; cleaning persons in parts keeps each window
and sort to the size of one part (at 1e8 positions and a 2 GB limit, one query over
everyone ran out of memory in the main-job window). On Spark the engine writes part
files that
the DuckDB writer sorts out of core; no table is collected to the driver (only the
one-row count queries are).

Examples
--------
>>> from analysis.clean import clean_delivery
>>> manifest = clean_delivery("data/delivery", "data/processed")   # doctest: +SKIP
>>> manifest["rows"]["panel"]                                      # doctest: +SKIP
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import ibis.expr.types as ir

from analysis import __version__, config
from analysis.clean import attrition
from analysis.clean.buckets import ROWS_PER_BUCKET, IdRange, bucket_count, id_ranges
from analysis.clean.engine import (
    DATASET_PARTITIONS,
    ENGINES,
    Engine,
    connect_duckdb,
    dataset_location,
    make_engine,
)
from analysis.clean.lookups import PPP_CSV, stage_lookups, taxonomy_keys
from analysis.clean.panel import (
    CARRIED_EXTRAS,
    MOVES_COLUMNS,
    Sources,
    YearWindow,
    build_moves,
    build_panel,
    build_persons,
    finish_panel,
    main_with_previous,
    panel_columns,
    person_table,
    persons_columns,
    spell_years,
    spells,
)
from analysis.clean.progress import Progress
from analysis.clean.writer import (
    DUCKDB_TYPES,
    concat_sorted,
    write_frame_sorted,
    write_text_atomic,
)
from analysis.errors import ArgumentError, InputError
from analysis.io import sha256_file
from analysis.ledger import LEDGER_COLUMNS, Ledger
from analysis.output_set import CLEAN_MANIFEST, check_output_folder, start_output_set
from analysis.sources.revelio import Delivery, DeliveryError, read_delivery
from analysis.sources.taxonomy import TAXONOMY_CSV
from analysis.sql import parquet_source

OUTPUTS: tuple[str, ...] = ("panel", "persons", "moves", "ledger")
KEYS: dict[str, list[str]] = {
    "panel": ["user_id", "year"],
    "persons": ["user_id"],
    "moves": ["user_id", "year"],
    "ledger": ["entry"],
}
LEDGER_SCHEMA: dict[str, str] = {
    "entry": "int32",
    **{c: ("int64" if c.startswith("rows") else "string") for c in LEDGER_COLUMNS},
}


def input_checksums(delivery: Delivery) -> dict[str, Any]:
    """SHA-256 of every part file read, checked against the delivery's own manifest.

    When the delivery has a ``manifest.json`` listing ``files`` with ``path`` and
    ``sha256`` (the layout the synthetic writer uses), every part file it lists must
    have that hash: a data file changed after the manifest was written is a named
    error. The result says how many part files were verified that way and lists the
    part files the manifest does not name.
    """
    root = delivery.root
    files = sorted(f for table in delivery.files.values() for f in table.files)
    hashes = {f.relative_to(root).as_posix(): sha256_file(f) for f in files}
    content = delivery.manifest  # read and checked by read_delivery
    out: dict[str, Any] = {"method": "sha256 of every part file read", "sha256": hashes}
    if content is None:
        return out | {"delivery_manifest": None}
    listed = {
        str(entry["path"]): entry.get("sha256")
        for entry in content.get("files", [])
        if isinstance(entry, dict) and "path" in entry
    }
    changed = [name for name, digest in hashes.items() if name in listed and listed[name] != digest]
    if changed:
        raise DeliveryError(
            f"{len(changed)} part file(s) differ from the hashes in the delivery's "
            "manifest.json: they were changed after the delivery was written",
            files=[root / name for name in changed],
            hint="restore the delivered files, or remove manifest.json to read them as they are",
        )
    out["delivery_manifest"] = {
        "sha256": sha256_file(root / "manifest.json"),
        "verified": sum(name in listed for name in hashes),
        "not_listed": sorted(name for name in hashes if name not in listed),
    }
    # "analysis.sources.synthetic" for the synthetic world, with its seed and scale
    out["generator"] = content.get("generator")
    return out | {k: content[k] for k in ("seed", "scale") if k in content}


def _sources(engine: Engine, staged: dict[str, Path]) -> Sources:
    read = engine.read_parquet
    return Sources(
        users=read(staged["users"]),
        positions=read(staged["positions"]),
        education=read(staged["education"]),
        skills=read(staged["skills"]),
        years=read(staged["years"]),
        taxonomy=read(staged["ai_taxonomy"]),
        ppp=read(staged["ppp"]),
    )


def clean_delivery(
    delivery_dir: str | Path,
    out_dir: str | Path,
    engine: str = "duckdb",
    years: tuple[int, int] = config.DEFAULT_YEARS,
    progress: bool = False,
    *,
    spark: Any = None,
    memory_limit: str | None = None,
    threads: int | None = None,
    keep_staging: bool = False,
    rows_per_bucket: int = ROWS_PER_BUCKET,
    allow_empty: bool = False,
    dataset_root: str | None = None,
) -> dict[str, Any]:
    """Clean a Revelio-style delivery into ``panel``, ``persons``, ``moves`` and ``ledger``.

    Parameters
    ----------
    delivery_dir
        The delivery folder (see the input contract).
    out_dir
        Where ``panel.parquet``, ``persons.parquet``, ``moves.parquet``,
        ``ledger.parquet`` and ``manifest.json`` are written (atomically).
    engine
        ``"duckdb"`` (default, embedded, out of core) or ``"spark"``.
    years
        First and last year of the panel, inclusive (default
        :data:`analysis.config.DEFAULT_YEARS`, 2010-2024).
    progress
        Print a line per step with the elapsed time to stderr.
    spark
        The SparkSession to use with ``engine="spark"`` (a local one is started if
        ``None``; see :func:`analysis.clean.engine.spark_session`).
    memory_limit, threads
        DuckDB resource limits (reading, staging, writing, and the whole cleaning on
        ``engine="duckdb"``; default memory limit
        :data:`analysis.config.DUCKDB_MEMORY_LIMIT`). Spilled data goes to ``<out>/_tmp``.
    keep_staging
        Keep ``<out>/_staging`` (the valid tables as parquet, rows in no particular
        order) instead of removing it.
    rows_per_bucket
        Spell-years per part: above it the persons are cleaned in ranges of
        ``user_id`` and the parts put end to end (:mod:`analysis.clean.buckets`); the
        output is the same whatever the number of parts (the manifest records it as
        ``persons_parts``).
    allow_empty
        Write a panel with no person-year as a whole output set (tests of edge
        cases); by default no surviving person-year is an
        :class:`~analysis.errors.InputError` (the ledger is written, no manifest).
    dataset_root
        With ``engine="spark"``: Spark writes panel, persons and moves as partitioned
        parquet datasets ``<dataset_root>/panel`` etc. (any path Spark can write; see
        :meth:`analysis.clean.engine.Engine.write_dataset`) instead of single files in
        ``out_dir``; the ledger and the manifest, which records the datasets, stay in
        ``out_dir``. The persons are then cleaned in one part whatever
        ``rows_per_bucket`` says (the parts are a bound on DuckDB's memory; Spark
        distributes the work itself).

    Returns
    -------
    dict
        The manifest (also written to ``manifest.json``): input checksums, package
        version, engine, years, row counts, origin-rule counts, output checksums.
    """
    if engine not in ENGINES:
        raise ArgumentError(f"unknown engine {engine!r}; choose from {list(ENGINES)}")
    first, last = (int(y) for y in years)
    if first > last:
        raise ArgumentError(f"years must be (first, last) with first <= last, got {years}")
    if dataset_root is not None and engine != "spark":
        raise ArgumentError("datasets (--dataset-root) are written by the spark engine only")
    out = check_output_folder(out_dir, {"delivery": delivery_dir})
    out.mkdir(parents=True, exist_ok=True)
    start_output_set(out, CLEAN_MANIFEST)
    staging, tmp = out / "_staging", out / "_tmp"
    show = Progress(enabled=progress)
    writer = connect_duckdb(
        memory_limit=memory_limit or config.DUCKDB_MEMORY_LIMIT,
        threads=threads,
        temp_directory=tmp,
    )
    try:
        with show.step(f"read and validate {delivery_dir}"):
            delivery = read_delivery(delivery_dir, con=writer.con)
            # before anything is cleaned: a part file changed since the delivery's
            # manifest was written is refused, whatever else is wrong with it
            checksums = input_checksums(delivery)
            ledger = Ledger()
            ledger.extend(delivery.ledger)
            window = YearWindow(first, last, delivery.delivery_date)
        unmapped = delivery.unmapped_countries
        if len(unmapped):
            show.log(
                f"{len(unmapped)} country name(s) map to no ISO3 code "
                f"({int(unmapped['rows'].sum()):,} rows quarantined or set to missing): "
                + ", ".join(
                    f"{row.name!r} x {row.rows:,}" for row in unmapped.head(10).itertuples()
                )
                + ("; all" if len(unmapped) > 10 else "; each")
                + " listed in the manifest"
            )
        with show.step("stage valid tables and reference tables to parquet"):
            staged = dict(delivery.write_parquet(staging, ordered=False))
            staged.update(stage_lookups(staging, (first, last)))
        with show.step(f"connect the {engine} engine"):
            eng = make_engine(engine, writer, out / "_work", spark=spark)
            src = _sources(eng, staged)
        clusters = sorted(taxonomy_keys()["cluster"].unique())
        present = set(delivery.extra_columns.get("positions", []))
        extras = [c for c in CARRIED_EXTRAS if c in present]
        staged_types = writer.read_parquet(str(staged["positions"])).schema()
        extra_types = {c: str(staged_types[c].copy(nullable=True)) for c in extras}
        extra_types = {c: t if t in DUCKDB_TYPES else "string" for c, t in extra_types.items()}

        with show.step("count spells in the year window"):
            spell_table = spells(src.positions, window)
            attrition.record_spells(ledger, eng, spell_table, window.delivery_date)
            n_spell_years = attrition.record_spell_years(
                ledger, eng, spell_years(spell_table, src.years)
            )
        what = OutputInputs(src, window, clusters, extras, extra_types)
        if dataset_root:
            locations = _write_datasets(eng, what, dataset_root, show)
            n_parts = 1
        else:
            n_parts = bucket_count(n_spell_years, rows_per_bucket)
            users_sql = f"SELECT user_id FROM {parquet_source(staged['users'])}"
            ranges = id_ranges(writer.con, users_sql, n_parts)
            n_parts = len(ranges)
            locations = _write_files(eng, what, ranges, out, show)
        panel = eng.read_parquet(locations["panel"])
        persons = eng.read_parquet(locations["persons"])
        with show.step("count the panel"):
            attrition.record_panel(ledger, eng, panel, n_spell_years)
        with show.step("count skills and persons"):
            attrition.record_skills(ledger, eng, src.skills, src.taxonomy)
            origin_counts = attrition.record_persons(ledger, eng, src.users, src.positions, persons)
        with show.step("write ledger and manifest"):
            frame = ledger.to_frame()
            frame.insert(0, "entry", range(1, len(frame) + 1))
            write_frame_sorted(
                writer, frame, out / "ledger.parquet", schema=LEDGER_SCHEMA, key=["entry"]
            )
            rows = {name: eng.count(eng.read_parquet(where)) for name, where in locations.items()}
            rows["ledger"] = len(frame)
            if not allow_empty:
                _refuse_empty_panel(out, delivery, rows["panel"])
            manifest = _manifest(
                delivery, checksums, eng.name, (first, last), out, origin_counts, clusters, rows
            )
            manifest["persons_parts"] = n_parts
            if dataset_root:
                manifest["datasets"] = {
                    name: {
                        "location": location,
                        "format": "parquet",
                        "partition_by": list(DATASET_PARTITIONS[name]),
                        "sorted_within_partitions_by": KEYS[name],
                        "rows": rows[name],
                    }
                    for name, location in locations.items()
                }
            text = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
            write_text_atomic(out / CLEAN_MANIFEST, text)  # last: the set is now whole
        show.log(
            "done: "
            + ", ".join(f"{k} {v:,}" for k, v in manifest["rows"].items())
            + f" rows in {out}"
        )
        return manifest
    finally:
        writer.disconnect()
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(out / "_work", ignore_errors=True)
        if not keep_staging:
            shutil.rmtree(staging, ignore_errors=True)


@dataclass(frozen=True)
class OutputInputs:
    """What panel, persons and moves are built from: the tables, the year window, the
    AI skill clusters and the extra position columns carried (with their types)."""

    src: Sources
    window: YearWindow
    clusters: list[str]
    extras: list[str]
    extra_types: dict[str, str]


def _write_files(
    eng: Engine,
    what: OutputInputs,
    ranges: list[IdRange],
    out: Path,
    show: Progress,
) -> dict[str, Path]:
    """Write panel, persons and moves as single files in ``out``, cleaning the persons
    of each ``user_id`` range of ``ranges`` apart and putting the parts end to end;
    the files by output name."""
    targets = {name: out / f"{name}.parquet" for name in DATASET_PARTITIONS}
    single = len(ranges) == 1
    parts: dict[str, list[Path]] = {name: [] for name in targets}
    for i, ids in enumerate(ranges):
        label = "" if single else f" (persons part {i + 1} of {len(ranges)})"
        scratch = out / "_work" / f"part-{i:04d}"
        files = targets if single else {n: scratch / f"{n}.parquet" for n in targets}
        for name, file in files.items():
            parts[name].append(file)

        def write(expr: ir.Table, name: str, files: dict[str, Path] = files, **how: Any) -> Path:
            return eng.write(expr, files[name], **how)

        part = replace(what, src=what.src.within(ids))
        _build_outputs(eng, part, scratch / "intermediate", write, show, label)
    if not single:
        with show.step(f"put the {len(ranges)} parts end to end"):
            for name, target in targets.items():
                concat_sorted(eng.writer, parts[name], target, key_column="user_id")
    return targets


def _write_datasets(
    eng: Engine,
    what: OutputInputs,
    root: str,
    show: Progress,
) -> dict[str, str]:
    """Have Spark write panel, persons and moves as datasets under ``root``; their
    locations by output name."""
    locations = {name: dataset_location(root, name) for name in DATASET_PARTITIONS}

    def write(expr: ir.Table, name: str, **how: Any) -> str:
        return eng.write_dataset(
            expr, locations[name], partition_by=DATASET_PARTITIONS[name], **how
        )

    intermediate = eng.work_dir / "intermediate"
    _build_outputs(eng, what, intermediate, write, show, f" as datasets under {root}")
    return locations


def _build_outputs(
    eng: Engine,
    what: OutputInputs,
    intermediate: Path,
    write: Callable[..., Path | str],
    show: Progress,
    label: str,
) -> None:
    """Build panel, persons and moves of the persons in ``src`` and hand each to
    ``write(expr, name, schema=..., key=..., finish=...)``, which returns where it
    went (persons and moves are built from the panel read back from there)."""
    src, window, clusters, extras = what.src, what.window, what.clusters, what.extras
    with show.step("build the main job of each person-year" + label):
        main = eng.materialize(
            main_with_previous(src, window, extras), "main_jobs", folder=intermediate
        )
    with show.step("build origin, field and AI skills of each person" + label):
        people = eng.materialize(person_table(src, clusters), "people", folder=intermediate)
    with show.step("build and write panel, persons and moves" + label):
        where = write(
            build_panel(src, window, clusters, extras, main=main, people=people),
            "panel",
            schema=panel_columns(clusters, what.extra_types),
            key=KEYS["panel"],
            finish=finish_panel,
        )
        panel = eng.read_parquet(where)
        write(
            build_persons(panel, src, clusters, people=people),
            "persons",
            schema=persons_columns(clusters),
            key=KEYS["persons"],
        )
        write(build_moves(panel), "moves", schema=MOVES_COLUMNS, key=KEYS["moves"])
    shutil.rmtree(intermediate, ignore_errors=True)  # the finished parts stay


def _refuse_empty_panel(out: Path, delivery: Delivery, panel_rows: int) -> None:
    """A delivery from which no person-year survives is an error, not an empty result:
    the ledger (written) says where the rows went; no manifest is written."""
    if panel_rows:
        return
    read = ", ".join(
        f"{table}: {c['rows_read']:,} read, {c['rows_quarantined']:,} quarantined"
        for table, c in delivery.row_counts.items()
    )
    raise InputError(
        f"no person-year of the delivery {delivery.root} survives cleaning ({read}); "
        f"the reasons are counted in {out / 'ledger.parquet'}"
    )


def _manifest(
    delivery: Delivery,
    checksums: dict[str, Any],
    engine: str,
    years: tuple[int, int],
    out: Path,
    origin_counts: dict[str, int],
    clusters: list[str],
    rows: dict[str, int],
) -> dict[str, Any]:
    files = [name for name in OUTPUTS if (out / f"{name}.parquet").exists()]
    return {
        "stage": "clean",
        "package": "kr-ai-talent",
        "package_version": __version__,
        "engine": engine,
        "years": list(years),
        "delivery": {
            "folder": delivery.root.name,
            "delivery_date": delivery.delivery_date.isoformat(),
            "schema_family": delivery.schema_family,
            "checksums": checksums,
            "read": delivery.row_counts,
        },
        "reference_tables": {
            PPP_CSV.name: sha256_file(PPP_CSV),
            TAXONOMY_CSV.name: sha256_file(TAXONOMY_CSV),
        },
        "rows": rows,
        # country names that map to no ISO3 code: their rows were quarantined (spells,
        # education) or the country set to missing (users)
        "unmapped_countries": delivery.unmapped_countries.to_dict(orient="records"),
        "origin_rules": origin_counts,
        "ai_clusters": clusters,
        "outputs": {
            f"{name}.parquet": {"rows": rows[name], "sha256": sha256_file(out / f"{name}.parquet")}
            for name in files
        },
    }
