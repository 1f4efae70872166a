"""``python -m analysis <stage>``: every stage of the pipeline from the command line.

The stages run in one direction (``synth -> clean -> estimate -> validate ->
report``, with ``worldbank``, the World Bank-LinkedIn analyses, beside them); ``all``
runs them in order. ``inspect`` reads and validates a delivery
without cleaning it. Every stage exits non-zero when its input is missing or
invalid, naming what to run first.
"""

from __future__ import annotations

import argparse
import errno
import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from analysis import __version__, config
from analysis.errors import ArgumentError, InputError
from analysis.logs import log_to_stderr


def positive_scale(text: str) -> float:
    """``--scale``: a finite number above zero (the synthetic world's size, 1 = default)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a finite number above 0, got {text!r}")
    return value


def whole_number(
    low: int, high: int | None = None, what: str = "a whole number"
) -> Callable[[str], int]:
    """An argparse type: a whole number from ``low`` to ``high`` (inclusive)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not {what}: {text!r}") from None
        if value < low or (high is not None and value > high):
            span = f"from {low} to {high}" if high is not None else f"at least {low}"
            raise argparse.ArgumentTypeError(f"must be {span}, got {text!r}")
        return value

    parse.__name__ = what.removeprefix("a ").replace(" ", "_")  # argparse's name for it
    return parse


#: ``--seed``: what NumPy's generators accept.
seed = whole_number(0, 2**32 - 1)
positive_int = whole_number(1)
#: A calendar year the panel can cover.
year = whole_number(1950, 2100, what="a year")


def existing_file(text: str) -> Path:
    """A path that must name an existing file."""
    path = Path(text)
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"no such file: {text}")
    return path


#: OS errors that are the user's to fix: permissions, a full disk or quota, a read-only
#: file system.
_USER_OS_ERRORS = {errno.EACCES, errno.EPERM, errno.ENOSPC, errno.EDQUOT, errno.EROFS}

#: The stages in the order ``all`` runs them.
PIPELINE: tuple[str, ...] = ("synth", "clean", "estimate", "validate", "worldbank", "report")


def _run_inspect(args: argparse.Namespace) -> int:
    from analysis.output_set import check_output_folder
    from analysis.sources.revelio import describe_problems, read_delivery

    if args.out:
        check_output_folder(args.out, {"delivery": args.delivery})
    delivery = read_delivery(args.delivery)
    print(describe_problems(delivery))
    if args.out:
        from analysis.io import write_frame_atomic

        out = Path(args.out)
        written = delivery.write_parquet(out)
        write_frame_atomic(delivery.ledger.to_frame(), out / "read_ledger.csv")
        write_frame_atomic(delivery.unmapped_countries, out / "unmapped_countries.csv")
        print(
            f"wrote {', '.join(sorted(p.name for p in written.values()))}, read_ledger.csv "
            f"and unmapped_countries.csv to {out}"
        )
    return 0


def _run_synth(args: argparse.Namespace) -> int:
    from analysis.output_set import check_output_folder
    from analysis.sources.synthetic import write_synthetic_delivery

    check_output_folder(args.out, {})
    manifest = write_synthetic_delivery(
        args.out,
        seed=args.seed,
        scale=args.scale,
        fmt=args.format,
        schema=args.schema,
        progress=True,
    )
    rows = ", ".join(f"{t} {v['rows']:,}" for t, v in manifest["tables"].items())
    print(
        f"wrote a synthetic delivery to {args.out} (seed {args.seed}, scale {args.scale}): "
        f"{rows} rows"
    )
    return 0


def _run_calibrate(args: argparse.Namespace) -> int:
    from analysis.sources.synthetic.calibrate import CALIBRATION_SEED, calibrate

    result = calibrate(
        args.params,
        seed=CALIBRATION_SEED if args.seed is None else args.seed,
        scale=args.scale,
        max_iterations=args.max_iterations,
        write=not args.dry_run,
    )
    print(f"{'figure':<38} {'target':>12} {'achieved':>12} {'z':>6}")
    for fid, target, achieved, z in result.table():
        print(f"{fid:<38} {target:>12,.4g} {achieved:>12,.4g} {z:>6.2f}")
    print(
        "converged" if result.converged else f"not converged after {result.iterations} iterations"
    )
    return 0 if result.converged else 1


def spark_setting(text: str) -> tuple[str, str]:
    """``--spark-conf``: one Spark setting, ``KEY=VALUE``."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"not KEY=VALUE: {text!r}")
    return key.strip(), value


def _spark_for(args: argparse.Namespace) -> object | None:
    """The SparkSession the clean stage's ``--spark-*`` arguments ask for (``None`` on
    DuckDB, where they are refused)."""
    master = getattr(args, "spark_master", None)
    remote = getattr(args, "spark_remote", None)
    conf = dict(getattr(args, "spark_conf", None) or [])
    if args.engine != "spark":
        if master or remote or conf:
            raise ArgumentError(
                "--spark-master, --spark-remote and --spark-conf need --engine spark"
            )
        return None
    from analysis.clean.engine import spark_session

    return spark_session(master=master, remote=remote, conf=conf)


def _run_clean(args: argparse.Namespace) -> int:
    from analysis.clean import clean_delivery

    manifest = clean_delivery(
        args.delivery,
        args.out,
        engine=args.engine,
        years=tuple(args.years),
        progress=True,
        spark=_spark_for(args),
        dataset_root=getattr(args, "dataset_root", None),
    )
    rows = ", ".join(f"{t} {n:,}" for t, n in manifest["rows"].items())
    print(f"cleaned {args.delivery} on {args.engine} into {args.out}: {rows} rows")
    for name, dataset in manifest.get("datasets", {}).items():
        print(f"  {name}: Spark dataset at {dataset['location']}")
    return 0


def _run_estimate(args: argparse.Namespace) -> int:
    from analysis.estimate.stage import run_estimates

    run_estimates(Path(args.panel), args.out, reuse=not getattr(args, "refit_all", False))
    return 0


def _run_validate(args: argparse.Namespace) -> int:
    from analysis.validate import VALIDATION_FILE, calibration_failures, run_validation

    out = Path(args.out)
    if out.suffix == ".csv":
        raise ArgumentError(
            f"--out {out} names a file; give the validation stage's folder (it writes "
            f"{VALIDATION_FILE} and its manifest there)"
        )
    table = run_validation(args.estimates, out)
    counts = table.groupby(["role", "verdict"]).size()
    for (role, verdict), n in counts.items():
        print(f"  {role:<22} {verdict:<5} {n}")
    failed = calibration_failures(table)
    print(f"wrote {out / VALIDATION_FILE} ({len(table)} figures)")
    if len(failed):
        print("calibration targets that fail: " + ", ".join(failed["figure_id"]), file=sys.stderr)
        return 2
    return 0


def _run_worldbank(args: argparse.Namespace) -> int:
    from analysis.realdata.stage import run_worldbank

    manifest = run_worldbank(args.out, args.workbook)
    if manifest["available"]:
        print(f"worldbank: wrote {len(manifest['outputs'])} tables to {args.out}")
    else:
        reason = manifest["unavailable"]
        print(
            f"worldbank: the workbook cannot be used ({reason['kind']}: {reason['message']}); "
            f"{args.out} records why, and the report's World Bank page will say how to get it",
            file=sys.stderr,
        )
    return 0


def _run_report(args: argparse.Namespace) -> int:
    from analysis.report.run import run_reports, write_report_index

    notebooks = getattr(args, "notebook", None)
    worldbank = getattr(args, "worldbank", None)
    if worldbank is not None and Path(worldbank).suffix == ".xlsx":
        raise ArgumentError(
            f"--worldbank {worldbank} is the workbook; give the worldbank stage's folder "
            f"(`python -m analysis worldbank --workbook {worldbank}` writes it)"
        )
    if getattr(args, "index", False):
        index = write_report_index(args.out, notebooks)
        print(f"report: wrote {index}")
        return 0
    written = run_reports(
        Path(args.estimates),
        args.processed,
        args.out,
        notebooks=notebooks,
        validation_dir=args.validation,
        worldbank_dir=worldbank,
        index=notebooks is None,
    )
    where = f"open {written['index'][0]}" if written["index"] else "index.html not rewritten"
    print(f"report: {len(written['notebooks'])} notebooks executed into {args.out}; {where}")
    for page in written["notes"]:
        print(
            f"report: {page.name} is a note, not results: an input it needs is missing "
            "(the page says how to get it)",
            file=sys.stderr,
        )
    return 0


def _run_status(args: argparse.Namespace) -> int:
    import json

    from analysis.output_set import VALIDATION_MANIFEST, stage_states

    folders = {
        "clean": args.processed,
        "estimate": args.estimates,
        "validate": args.validation,
        "worldbank": args.worldbank,
    }
    states = stage_states(folders)
    for stage, state in states.items():
        print(f"  {stage:<10} {folders[stage]}: {state}")
    if any(state != "whole" for state in states.values()):
        print("error: the pipeline's outputs are not whole (see above)", file=sys.stderr)
        return 1
    manifest = json.loads((Path(args.validation) / VALIDATION_MANIFEST).read_text())
    failed = manifest.get("calibration_failures", [])
    if failed:
        print(
            f"error: calibration targets fail: {', '.join(failed)} (see the validation page "
            f"of the report and {Path(args.validation) / 'validation.csv'})",
            file=sys.stderr,
        )
        return 2
    return 0


def _run_all(args: argparse.Namespace) -> int:
    """Run every built stage in order; list the stages that are not built yet."""
    from analysis.sources.published import load_published_figures

    figures = load_published_figures()
    counts = figures["kind"].value_counts().to_dict()
    print(
        f"published-figures registry: {len(figures)} figures "
        f"({', '.join(f'{v} {k}' for k, v in sorted(counts.items()))}) from "
        f"{config.PUBLISHED_FIGURES_CSV.relative_to(config.PACKAGE_DIR.parent)}"
    )
    if args.delivery:
        delivery = Path(args.delivery)
    else:
        delivery = config.DATA_DELIVERY
        status = _run_synth(
            argparse.Namespace(
                out=delivery,
                seed=args.seed,
                scale=args.scale,
                format="parquet",
                schema="unversioned",
            )
        )
        if status:
            return status
    status = _run_inspect(argparse.Namespace(delivery=delivery, out=None))
    if status:
        return status
    status = _run_clean(
        argparse.Namespace(
            delivery=delivery,
            out=config.DATA_PROCESSED,
            engine="duckdb",
            years=config.DEFAULT_YEARS,
        )
    )
    if status:
        return status
    status = _run_estimate(
        argparse.Namespace(panel=config.DATA_PROCESSED, out=config.DATA_ESTIMATES)
    )
    if status:
        return status
    validation = _run_validate(
        argparse.Namespace(estimates=config.DATA_ESTIMATES, out=config.DATA_VALIDATION)
    )
    if validation not in (0, 2):
        return validation
    status = _run_worldbank(argparse.Namespace(out=config.DATA_WORLDBANK, workbook=None))
    if status:
        return status
    # failing calibration targets are a finding to read on the validation page, so the
    # reports are still built; the exit status stays non-zero
    status = _run_report(
        argparse.Namespace(
            estimates=config.DATA_ESTIMATES,
            processed=config.DATA_PROCESSED,
            validation=config.DATA_VALIDATION,
            worldbank=config.DATA_WORLDBANK,
            out=config.REPORTS,
        )
    )
    if status:
        return status
    print(f"all stages ran: {' -> '.join(PIPELINE)}")
    if validation:
        print(
            "error: calibration targets fail (see the validation page of the report and "
            f"{config.DATA_VALIDATION / 'validation.csv'})",
            file=sys.stderr,
        )
    return validation


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and for ``--help``)."""
    parser = argparse.ArgumentParser(
        prog="python -m analysis",
        description="AI wage premium and AI-talent mobility: run the pipeline stage by stage "
        "(synth -> clean -> estimate -> validate -> report) or all at once.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="stage", metavar="STAGE", required=True)

    p = sub.add_parser(
        "synth",
        help="write a synthetic Revelio-layout delivery",
        description="Write a delivery from the calibrated synthetic world.",
    )
    p.add_argument("--out", type=Path, default=config.DATA_DELIVERY, help="delivery folder")
    p.add_argument("--seed", type=seed, default=config.DEFAULT_SEED)
    p.add_argument("--scale", type=positive_scale, default=1.0)
    p.add_argument("--format", choices=["parquet", "csv"], default="parquet")
    p.add_argument(
        "--schema",
        choices=["unversioned", "versioned"],
        default="unversioned",
        help="column-name family (role_k1500/skill_mapped or the _v2/k35000 names)",
    )
    p.set_defaults(func=_run_synth)

    p = sub.add_parser(
        "calibrate",
        help="fit the synthetic world to the published figures",
        description="Calibration by simulated moments: rewrites the calibrated "
        "values and the [calibration] section of the parameters file.",
    )
    p.add_argument(
        "--params",
        type=existing_file,
        default=None,
        help="parameters file (default: the package's params.toml)",
    )
    p.add_argument("--seed", type=seed, default=None)
    p.add_argument("--scale", type=positive_scale, default=1.0)
    p.add_argument("--max-iterations", type=positive_int, default=10)
    p.add_argument("--dry-run", action="store_true", help="report, do not rewrite the file")
    p.set_defaults(func=_run_calibrate)

    p = sub.add_parser(
        "clean",
        help="clean a delivery into a person-year panel",
        description="Clean a delivery into processed tables.",
    )
    p.add_argument("--delivery", type=Path, default=config.DATA_DELIVERY)
    p.add_argument("--out", type=Path, default=config.DATA_PROCESSED)
    p.add_argument("--engine", choices=["duckdb", "spark"], default="duckdb")
    p.add_argument(
        "--years",
        type=year,
        nargs=2,
        default=list(config.DEFAULT_YEARS),
        metavar=("FIRST", "LAST"),
        help="panel years, inclusive",
    )
    spark = p.add_argument_group("Spark (with --engine spark)")
    spark.add_argument(
        "--spark-master",
        metavar="URL",
        default=None,
        help="run Spark in this process on this master (default local[*]; spark://..., "
        "yarn, k8s://...)",
    )
    spark.add_argument(
        "--spark-remote",
        metavar="sc://HOST:PORT",
        default=None,
        help="use the Spark Connect server at this URL (default $SPARK_REMOTE)",
    )
    spark.add_argument(
        "--spark-conf",
        type=spark_setting,
        action="append",
        metavar="KEY=VALUE",
        help="a Spark setting, passed through (repeatable)",
    )
    spark.add_argument(
        "--dataset-root",
        metavar="PATH",
        default=None,
        help="Spark writes panel, persons and moves as parquet datasets partitioned by "
        "year under PATH (any path Spark can write: hdfs://, s3a://, a shared folder) "
        "instead of single files in --out; the ledger and the manifest stay in --out",
    )
    p.set_defaults(func=_run_clean)

    p = sub.add_parser(
        "estimate",
        help="estimate premiums, stocks, flows and mobility",
        description="Estimate from the processed panel; write tidy CSVs.",
    )
    p.add_argument("--panel", type=Path, default=config.DATA_PROCESSED)
    p.add_argument("--out", type=Path, default=config.DATA_ESTIMATES)
    p.add_argument(
        "--refit-all",
        action="store_true",
        help="compute every step; by default a step whose panel, code, libraries and "
        "specification entries are those of the last run in --out is reused",
    )
    p.set_defaults(func=_run_estimate)

    p = sub.add_parser(
        "validate",
        help="compare estimates with the published figures",
        description="One row per published figure: estimate, rule, verdict.",
    )
    p.add_argument("--estimates", type=Path, default=config.DATA_ESTIMATES)
    p.add_argument(
        "--out",
        type=Path,
        default=config.DATA_VALIDATION,
        help="folder of the validation table and its manifest",
    )
    p.set_defaults(func=_run_validate)

    p = sub.add_parser(
        "worldbank",
        help="the World Bank-LinkedIn analyses (real data) as tidy CSVs",
        description="Load the World Bank-LinkedIn talent-migration workbook, run the "
        "analyses of analysis.realdata and write their tables. Without a usable workbook "
        "the folder records why (exit 0), and the report's page says how to get it.",
    )
    p.add_argument(
        "--workbook",
        type=Path,
        default=None,
        metavar="PATH",
        help=f"the .xlsx file (default: ${config.WORLDBANK_ENV_VAR}, else the shared data folder)",
    )
    p.add_argument("--out", type=Path, default=config.DATA_WORLDBANK)
    p.set_defaults(func=_run_worldbank)

    p = sub.add_parser(
        "report",
        help="execute the notebooks into reports/",
        description="Execute the notebooks with papermill into reports/.",
    )
    p.add_argument("--out", type=Path, default=config.REPORTS)
    p.add_argument("--estimates", type=Path, default=config.DATA_ESTIMATES)
    p.add_argument("--processed", type=Path, default=config.DATA_PROCESSED)
    p.add_argument(
        "--validation",
        type=Path,
        default=config.DATA_VALIDATION,
        help="the validate stage's folder (read by the validation page)",
    )
    p.add_argument(
        "--worldbank",
        type=Path,
        default=config.DATA_WORLDBANK,
        metavar="DIR",
        help="the worldbank stage's folder (read by the World Bank page; when the stage "
        "found no workbook, the page is a note on how to get it)",
    )
    p.add_argument(
        "--notebook",
        type=existing_file,
        action="append",
        metavar="FILE",
        help="execute only this notebook (repeatable) and leave index.html as it is; "
        "with --index, the notebooks whose pages the index lists",
    )
    p.add_argument(
        "--index",
        action="store_true",
        help="execute nothing: rewrite index.html over the pages already built",
    )
    p.set_defaults(func=_run_report)

    p = sub.add_parser(
        "all",
        help="run every stage in order (the README's main command)",
        description="Run every built stage in order, from the synthetic world "
        "to the reports; stages not built yet are listed.",
    )
    p.add_argument(
        "--delivery",
        type=Path,
        default=None,
        help="use this delivery (real or synthetic) instead of generating one",
    )
    p.add_argument("--seed", type=seed, default=config.DEFAULT_SEED)
    p.add_argument("--scale", type=positive_scale, default=1.0)
    p.set_defaults(func=_run_all)

    p = sub.add_parser(
        "status",
        help="are the stages' outputs whole? do calibration targets fail?",
        description="Verify each stage's output folder against its manifest (exit 1 if one "
        "is missing or changed) and report the calibration targets that fail (exit 2).",
    )
    p.add_argument("--processed", type=Path, default=config.DATA_PROCESSED)
    p.add_argument("--estimates", type=Path, default=config.DATA_ESTIMATES)
    p.add_argument("--validation", type=Path, default=config.DATA_VALIDATION)
    p.add_argument("--worldbank", type=Path, default=config.DATA_WORLDBANK)
    p.set_defaults(func=_run_status)

    p = sub.add_parser(
        "inspect",
        help="read and validate a delivery (no cleaning)",
        description="Read a delivery, print what validation found, and "
        "optionally write the valid tables, quarantine and ledger.",
    )
    p.add_argument("--delivery", type=Path, required=True)
    p.add_argument(
        "--out", type=Path, default=None, help="write valid tables, quarantine and ledger here"
    )
    p.set_defaults(func=_run_inspect)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit status.

    A user error (:class:`analysis.errors.InputError`: a bad argument, a missing or
    damaged input) is printed as ``error: ...`` with exit status 1 and no traceback;
    an argument argparse rejects exits 2 with its usage line. Any other exception is
    a bug in the package and propagates with its traceback.
    """
    args = build_parser().parse_args(argv)
    log_to_stderr()
    try:
        return int(args.func(args))
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        if exc.errno not in _USER_OS_ERRORS:
            raise
        # the machine refuses, not the package: a folder the user cannot write, a
        # full disk
        print(f"error: {exc.strerror}: {exc.filename or ''}".rstrip(": "), file=sys.stderr)
        return 1
