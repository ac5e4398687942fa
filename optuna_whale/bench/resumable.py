"""Resumable benchmark loops whose records are JSON lines, one finished run per line.

A benchmark script lists the runs it wants, drops those whose key is already in its
``runs.jsonl`` (:func:`read_records`) and hands the rest to :func:`run_and_append`, which
appends each record as soon as the run finishes: a killed benchmark loses at most the runs in
flight, and rerunning the same command continues it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

Record = dict[str, Any]


def read_records(path: Path) -> list[Record]:
    """The records in ``path`` in file order (none if the file does not exist)."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def run_and_append(
    specs: list[Any], run: Callable[[Any], Record], path: Path, jobs: int = 1, desc: str = "runs"
) -> list[Record]:
    """Run ``run(spec)`` for every spec with a progress bar, appending each record to ``path``
    as it finishes; returns the new records in the order they finished.

    ``jobs == 1`` runs in this process, in order; ``jobs > 1`` in that many processes (``run``
    and the specs must then be picklable: a module-level function and plain data).
    """
    from tqdm import tqdm

    if jobs < 1:
        raise ValueError(f"jobs must be >= 1, got {jobs}.")
    out: list[Record] = []
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as sink, tqdm(total=len(specs), desc=desc) as bar:

        def keep(rec: Record) -> None:
            sink.write(json.dumps(rec) + "\n")
            sink.flush()
            out.append(rec)
            bar.update()

        if jobs == 1:
            for spec in specs:
                keep(run(spec))
        else:
            with ProcessPoolExecutor(max_workers=jobs) as pool:
                for fut in as_completed([pool.submit(run, spec) for spec in specs]):
                    keep(fut.result())
    return out
