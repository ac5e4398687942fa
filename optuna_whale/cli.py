"""The ``optuna-whale`` command (also ``python -m optuna_whale``): the plugin's main job.

``optuna-whale compare`` runs WhaleSampler against Optuna's TPE, CMA-ES and random samplers on
an embedded task (by default: compress a digits CNN under a size budget), one Optuna study per
(sampler, seed) in a storage (a SQLite file in ``--out`` unless ``--storage`` says otherwise),
then prints a per-sampler table, writes a report folder and prints the optuna-dashboard command
that opens the studies. It is a thin front end to the benchmark harness
(:mod:`optuna_whale.bench`: runner, samplers, problems, report, plots); runs are resumable (the
same command again skips finished runs).

Everything beyond optuna and numpy (torch, matplotlib, tqdm, scipy, cocoex) is imported inside
the functions, so ``import optuna_whale.cli`` stays light and ``optuna-whale --help`` is quick.
"""

from __future__ import annotations

import argparse
import re
import shlex
import sys
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from optuna_whale.bench.compression import COMPRESSION_TASKS, EXPECTED_TIME
from optuna_whale.bench.samplers import DESCRIPTIONS, NAMES

if TYPE_CHECKING:
    from optuna_whale.bench.problems import ProblemSpec

PROG = "optuna-whale"
DEFAULT_SAMPLERS = ("whale", "tpe", "cmaes", "random")
DEFAULT_SEEDS = 3
BBOB_TASK = re.compile(r"bbob:f(\d+):d(\d+)(?::i(\d+))?")
BBOB_DIMS = (2, 3, 5, 10, 20, 40)
BBOB_TRIALS_PER_DIM = 50
TASK_CHOICES = f"{', '.join(COMPRESSION_TASKS)} or bbob:f<1-24>:d<{'|'.join(map(str, BBOB_DIMS))}>[:i<instance>]"


@dataclass(frozen=True)
class Task:
    """A ``--task`` value resolved: the harness problem, its name, default trials and how runs
    are checkpointed (``trial``: every trial written as it runs, watchable live in the
    dashboard; ``run``: cheap BBOB trials optimised in memory and copied when finished)."""

    spec: ProblemSpec
    name: str
    default_trials: int
    checkpoint: str


def parse_task(text: str) -> Task:
    """Resolve a ``--task`` value; ValueError naming the allowed values otherwise."""
    from optuna_whale.bench.problems import ProblemSpec

    if text in COMPRESSION_TASKS:
        return Task(ProblemSpec("compression", dataset=text), text, COMPRESSION_TASKS[text][0], "trial")
    match = BBOB_TASK.fullmatch(text)
    if match is None:
        raise ValueError(f"--task: unknown task {text!r}; choose from {TASK_CHOICES} (e.g. bbob:f15:d5)")
    function, dim = int(match.group(1)), int(match.group(2))
    instance = int(match.group(3) or 1)
    if not 1 <= function <= 24:
        raise ValueError(f"--task {text}: BBOB function must be f1..f24, got f{function}")
    if dim not in BBOB_DIMS:
        raise ValueError(f"--task {text}: BBOB dimension must be one of {', '.join(f'd{d}' for d in BBOB_DIMS)}, got d{dim}")
    if instance < 1:
        raise ValueError(f"--task {text}: BBOB instance must be >= 1, got i{instance}")
    return Task(ProblemSpec("bbob", function, dim, instance), text, BBOB_TRIALS_PER_DIM * dim, "run")


def check_storage(url: str) -> str | None:
    """None if ``url`` opens as an Optuna storage (the schema is created if needed), else a
    one-line reason without the URL's password."""
    import optuna

    from optuna_whale.bench.runner import open_storage, release_storage

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    try:
        # fail within seconds on an unreachable host instead of the driver's long default
        storage = open_storage(url, connect_timeout=10)
        storage.get_all_studies()
        release_storage(storage)
    except Exception as exc:  # any driver's error: reported in one line
        reason = _one_line(exc, url)
        cause = exc.__cause__
        if isinstance(cause, ModuleNotFoundError):
            reason += f" ({cause})"
        return reason
    return None


def _one_line(exc: BaseException, url: str) -> str:
    """The first meaningful line of an exception, any password of ``url`` masked."""
    from optuna_whale.bench.runner import redact_text

    text = str(exc).strip() or type(exc).__name__
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), text)
    line = re.sub(r"\s*\(Background on this error at: [^)]*\)", "", line)
    return redact_text(line, url)[:300]


class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose errors are one line (no usage block) and exit with status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    """The ``optuna-whale`` parser with its ``compare`` command."""
    parser = _Parser(
        prog=PROG,
        description="optuna-whale: a storage-backed Whale Optimization Algorithm sampler for Optuna. "
        "Run 'optuna-whale compare' to see it at work against Optuna's samplers.",
    )
    from optuna_whale import __version__

    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    paragraphs = [
        "Run WhaleSampler against Optuna's samplers on an embedded task, one Optuna study per "
        "(sampler, seed), then print a per-sampler table, write a report folder (report.md, "
        "best-so-far.png, pareto.png, runs.jsonl, results.csv, summary.json) and print the "
        "optuna-dashboard command that opens the studies.",
        f"Default run: task digits, samplers {','.join(DEFAULT_SAMPLERS)}, {DEFAULT_SEEDS} seeds x "
        f"{COMPRESSION_TASKS['digits'][0]} trials (12 runs), --jobs 1: {EXPECTED_TIME}. Each digits "
        "trial prunes, low-rank factorizes, fine-tunes and quantizes the trained CNN and is scored "
        "on its validation cross-entropy (minimised, within the budget or not), with the size "
        "budget as the trial's constraint (bytes / max_bytes - 1 <= 0); the tables rank each "
        "run's best feasible trial.",
        "Runs are resumable: the same command again skips finished runs and continues an "
        "interrupted one.",
    ]
    tasks = [(name, f"{desc} (default --trials {n})") for name, (n, desc) in COMPRESSION_TASKS.items()]
    tasks.append(("bbob:fF:dD", f"BBOB function F (1-24) in dimension D (coco-experiment), optional :iN "
                                f"instance (default 1) (default --trials {BBOB_TRIALS_PER_DIM} x D)"))
    lines = [textwrap.fill(p, 88, break_on_hyphens=False) + "\n" for p in paragraphs[:2]] + ["Tasks (--task):"]
    for name, desc in tasks:
        lines.append(textwrap.fill(desc, 88, break_on_hyphens=False, initial_indent=f"  {name:<13}", subsequent_indent=" " * 15))
    lines.append("\n" + textwrap.fill(paragraphs[2], 88, break_on_hyphens=False))
    cmd = sub.add_parser(
        "compare",
        help="WhaleSampler vs TPE, CMA-ES and random search on a compression task; table, report, dashboard",
        description="\n".join(lines),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    cmd.add_argument("--task", default="digits", metavar="TASK",
                         help=f"what to optimise: {TASK_CHOICES} (default digits)")
    cmd.add_argument("--samplers", default=",".join(DEFAULT_SAMPLERS), metavar="NAMES",
                         help=f"comma separated, from {','.join(NAMES)} (default {','.join(DEFAULT_SAMPLERS)}): "
                              + "; ".join(f"{k} = {v}" for k, v in DESCRIPTIONS.items())
                              + " (Optuna's samplers with their defaults)")
    cmd.add_argument("--trials", type=int, default=None, metavar="N",
                         help=f"trials per run, >= 1 (default: the task's, {COMPRESSION_TASKS['digits'][0]} for digits)")
    cmd.add_argument("--seeds", type=int, default=DEFAULT_SEEDS, metavar="N",
                         help=f"runs per sampler, with sampler seeds FIRST..FIRST+N-1, >= 1 (default {DEFAULT_SEEDS})")
    cmd.add_argument("--first-seed", type=int, default=0, metavar="FIRST",
                         help="seed of each sampler's first run, >= 0 (default 0)")
    cmd.add_argument("--out", type=Path, default=Path("optuna-whale-compare"), metavar="DIR",
                         help="report folder, created if missing (default ./optuna-whale-compare)")
    cmd.add_argument("--storage", default=None, metavar="URL",
                         help="Optuna storage URL, e.g. postgresql://user:password@host/db, "
                              "mysql+pymysql://user:password@host/db or redis://host:6379 (a journal storage) "
                              "(default: sqlite:///DIR/studies.db in --out); one study per run, named "
                              "<problem>|<sampler>|seed<N>; the password is never printed or written")
    cmd.add_argument("--jobs", type=int, default=1, metavar="N",
                         help="runs in parallel processes, >= 1 (default 1; 2 halves the time on 2 idle cores)")
    cmd.add_argument("--no-progress", action="store_true", help="hide the progress bar (one tick per finished run)")
    cmd.set_defaults(run=compare, parser=cmd)
    return parser


def _dashboard_command(storage: str) -> str:
    """The optuna-dashboard command for ``storage`` (the URL that opens it, password masked)."""
    from optuna_whale.bench.runner import redact_url, storage_url

    return f"optuna-dashboard {shlex.quote(redact_url(storage_url(storage)))}"


def _command_line(argv: list[str], storage: str | None) -> str:
    """The command as typed, for report.md, with the ``--storage`` URL's password masked (in
    any spelling: ``--storage URL``, ``--storage=URL``, an abbreviated flag)."""
    from optuna_whale.bench.runner import redact_url

    if storage:
        argv = [a.replace(storage, redact_url(storage)) for a in argv]
    return " ".join([PROG, *(shlex.quote(a) for a in argv)])


class OutputError(Exception):
    """A report file cannot be written safely (e.g. a symbolic link at its path)."""


#: every file the report writes into --out (the SQLite file aside)
REPORT_FILES = ("report.md", "best-so-far.png", "pareto.png", "runs.jsonl", "results.csv", "summary.json")


def _check_targets(out: Path, names: list[str]) -> None:
    for name in names:
        target = out / name
        if target.is_symlink():
            raise OutputError(f"--out: {target} is a symbolic link; remove it (report files are never written "
                              "through a link)")
        if target.exists() and not target.is_file():
            raise OutputError(f"--out: {target} exists and is not a regular file; remove it")


def write_report_safely(out: Path, write: Callable[[Path], Any]) -> Any:
    """Call ``write(folder)`` on a fresh private folder inside ``out``, then move each file it
    wrote into ``out`` with ``os.replace`` (atomic; it replaces a directory entry and never
    writes through a symbolic link). A symbolic link or a non-file already at one of the
    targets is refused with :class:`OutputError` before anything is moved. Returns what
    ``write`` returns."""
    import os
    import shutil
    import tempfile

    staging = Path(tempfile.mkdtemp(prefix=".report-", dir=out))
    try:
        result = write(staging)
        names = sorted(p.name for p in staging.iterdir())
        _check_targets(out, names)
        for name in names:
            os.replace(staging / name, out / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return result


def _about(task: Task, samplers: list[str], seeds: list[int], trials: int, storage: str, records: list[dict[str, Any]]) -> list[str]:
    """report.md lines describing the task and the runs."""
    from optuna_whale.bench.runner import redact_url

    seed_text = f"seed {seeds[0]}" if len(seeds) == 1 else f"seeds {seeds[0]}..{seeds[-1]}"
    lines = [f"Task `{task.name}`; samplers {', '.join(samplers)}; {seed_text}; {trials} trials per run; "
             f"studies in `{redact_url(storage)}`."]
    meta = next((r["problem_metadata"] for r in records if "problem_metadata" in r), None)
    if meta:
        base = meta.get("baseline", {})
        lines += ["", f"Model: {meta.get('name', task.name)}; uncompressed baseline: validation accuracy "
                  f"{base.get('accuracy', float('nan')):.4f}, {base.get('bytes', 0):,} bytes, {base.get('macs', 0):,} MACs. "
                  f"Size budget: bytes <= {float(meta.get('max_bytes', float('nan'))):,.0f} "
                  f"({100 * float(meta.get('size_fraction', float('nan'))):g} % of the baseline), set as the constraint "
                  "`bytes / max_bytes - 1 <= 0`. Each trial prunes, low-rank factorizes, fine-tunes and quantizes "
                  "the trained model; the studies minimise the validation cross-entropy of every trial, and the "
                  "tables rank each run's best *feasible* trial."]
    elif task.spec.suite == "bbob":
        lines += ["", f"BBOB function f{task.spec.function} (coco-experiment, shifted and rotated) in dimension "
                  f"{task.spec.dim}, instance {task.spec.instance}, box [-5, 5]^{task.spec.dim}; regret = f - f_opt."]
    return lines


def _plural(k: int, word: str) -> str:
    return f"{k} {word}" + ("" if k == 1 else "s")


def _check_storage_flag(parser: argparse.ArgumentParser, storage: str) -> None:
    reason = check_storage(storage)
    if reason is not None:
        from optuna_whale.bench.runner import redact_url

        parser.error(f"--storage: cannot open {redact_url(storage)}: {reason}")


def compare(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """The ``compare`` command (arguments already parsed)."""
    samplers = [s.strip() for s in args.samplers.split(",") if s.strip()]
    unknown = [s for s in samplers if s not in NAMES]
    if unknown or not samplers:
        parser.error(f"--samplers: unknown {', '.join(unknown) or '(empty)'}; choose from {','.join(NAMES)}")
    if len(set(samplers)) != len(samplers):
        parser.error(f"--samplers: {args.samplers!r} names a sampler twice")
    try:
        task = parse_task(args.task)
    except ValueError as exc:
        parser.error(str(exc))
    trials = task.default_trials if args.trials is None else args.trials
    for flag, value, low in (("--trials", trials, 1), ("--seeds", args.seeds, 1), ("--jobs", args.jobs, 1),
                             ("--first-seed", args.first_seed, 0)):
        if value < low:
            parser.error(f"{flag} must be >= {low}, got {value}")
    storage = args.storage or f"sqlite:///{(args.out / 'studies.db').resolve()}"
    if args.storage is not None:  # checked before anything is written
        _check_storage_flag(parser, storage)
    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        parser.error(f"--out: cannot create {args.out}: {exc.strerror or exc}")
    try:  # refuse a planted link before hours of runs, not after
        _check_targets(args.out, list(REPORT_FILES))
    except OutputError as exc:
        parser.error(str(exc))
    if args.storage is None:
        for name in ("studies.db", "studies.db-wal", "studies.db-shm", "studies.db-journal"):
            if (args.out / name).is_symlink():
                parser.error(f"--out: {args.out / name} is a symbolic link; remove it (the studies are never "
                             "written through a link)")
        _check_storage_flag(parser, storage)

    from optuna_whale.bench import compression as _compression  # noqa: F401  (registers the suite)
    from optuna_whale.bench.runner import RunFailed, RunSpec, redact_text, redact_url, run_all

    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    # seed-major: a run stopped early has every sampler for its first seeds
    specs = [RunSpec(task.spec, s, seed, trials) for seed in seeds for s in samplers]
    shown = redact_url(storage)
    print(f"{PROG} compare: task {task.name}, {_plural(len(samplers), 'sampler')} x {_plural(len(seeds), 'seed')} x "
          f"{_plural(trials, 'trial')} ({len(specs)} runs, --jobs {args.jobs}); studies in {shown}", flush=True)
    t0 = time.perf_counter()
    try:
        records = run_all(specs, storage, jobs=args.jobs, progress=not args.no_progress, checkpoint=task.checkpoint)
    except KeyboardInterrupt:
        print(f"\ninterrupted: run the same command again to continue (finished runs are kept in {shown})",
              file=sys.stderr, flush=True)
        return 130
    except RunFailed as exc:
        print(f"{PROG} compare: error: {redact_text(str(exc), storage)}; finished runs are kept in {shown}",
              file=sys.stderr, flush=True)
        return 1
    wall = time.perf_counter() - t0
    try:
        return _finish_compare(args, task, samplers, seeds, trials, storage, specs, records, wall)
    except KeyboardInterrupt:
        print(f"\ninterrupted while writing the report: run the same command again to write it (the runs are "
              f"kept in {shown})", file=sys.stderr, flush=True)
        return 130


def _finish_compare(args: argparse.Namespace, task: Task, samplers: list[str], seeds: list[int], trials: int,
                    storage: str, specs: list[Any], records: list[dict[str, Any]], wall: float) -> int:
    """Report, table and dashboard line of a finished ``compare``."""
    from optuna_whale.bench import report
    from optuna_whale.bench.runner import redact_url

    shown = redact_url(storage)
    order = {(s, seed): i for i, (s, seed) in enumerate((sp.sampler, sp.seed) for sp in specs)}
    records.sort(key=lambda r: order[(r["sampler"], r["seed"])])
    command = _command_line(args.argv, args.storage)
    title = f"optuna-whale compare: {task.name}"
    about = _about(task, samplers, seeds, trials, storage, records)
    try:
        rows = write_report_safely(args.out, lambda folder: report.write_main_job(
            records, folder, command, title, about, _dashboard_command(storage)))
    except (OutputError, OSError) as exc:
        print(f"{PROG} compare: error: {exc}; the runs are kept in {shown} (rerun to write the report)",
              file=sys.stderr, flush=True)
        return 1
    print(f"\n{title}: {len(specs)} runs in {wall:.0f} s")
    print(report.format_table(rows))
    print("(best over all seeds; sampler s and wall s summed over seeds; mean rank 1 = best at every seed)")
    print(f"report: {args.out / 'report.md'} (plots and data files next to it)")
    print(f"open the studies: {_dashboard_command(storage)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``optuna-whale`` / ``python -m optuna_whale``; returns the exit status
    (argument errors exit with status 2 and a one-line message)."""
    parser = build_parser()
    raw = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(raw)
    args.argv = raw
    status: int = args.run(args, args.parser)
    return status
