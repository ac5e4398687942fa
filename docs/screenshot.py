"""Real-browser check: open a WhaleSampler study in optuna-dashboard with headless Chromium.

Starts ``optuna-dashboard`` on 127.0.0.1 (a free port) against a SQLite study (made here with
WhaleSampler unless ``--storage``/``--study`` name one), loads the study's trial table in
headless Chromium (Debian package ``chromium``) on its best feasible trial (Optuna's
``study.best_trial``; the newest trial if there is none), whose whale attrs (slot,
move, cycle, generation) and feasibility (user attrs ``feasible`` and ``constraint:x_at_most_1``:
the demo study is constrained, its constraint stored by
``optuna_whale.compression.objective.set_constraints``) are shown, and saves a PNG screenshot.
With ``--dump-dom DIR`` it also writes the pages as the browser rendered them:
``study.html`` (the study's overview, whose plots grey the infeasible trials) and
``trial.html`` (the trial's page). Fails (exit 1) if the dashboard does not answer or the
screenshot is missing or blank.

    python docs/screenshot.py                       # writes docs/dashboard.png
    python docs/screenshot.py --storage sqlite:///optuna-whale.db --study-id 1 --out shot.png
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_demo_study(storage: str) -> tuple[str, int]:
    """A 60-trial WhaleSampler study in ``storage`` with one constraint ``x <= 1`` (the
    unconstrained optimum x = 1.7 is infeasible); returns (name, study id)."""
    import math

    import optuna

    from optuna_whale import WhaleSampler
    from optuna_whale.compression.objective import set_constraints

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(storage=storage, study_name="whale-demo", sampler=WhaleSampler(seed=0))

    def objective(trial: optuna.Trial) -> float:
        x = trial.suggest_float("x", -5, 5)
        lr = trial.suggest_float("lr", 1e-5, 1e-1, log=True)
        act = trial.suggest_categorical("activation", ["relu", "tanh", "gelu"])
        set_constraints(trial, {"x_at_most_1": x - 1.0})
        return (x - 1.7) ** 2 + abs(math.log10(lr) + 3) + (act != "tanh")

    study.optimize(objective, n_trials=60)
    return study.study_name, study._study_id


def _best_feasible(storage: str, study_id: int, default: int) -> int:
    """The number of the study's best feasible trial (``study.best_trial``, which skips trials
    whose constraints are > 0), or ``default``. optuna-dashboard's "Best Trial" badge does not
    skip them (it asks the storage for the best value), so it can sit on an infeasible trial."""
    import optuna

    try:
        name = optuna.storages.get_storage(storage).get_study_name_from_id(study_id)
        return int(optuna.load_study(study_name=name, storage=storage).best_trial.number)
    except (KeyError, ValueError, RuntimeError):
        return default


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--storage", default=None, help="Optuna storage URL (default: a demo study in a temp SQLite file)")
    parser.add_argument("--study-id", type=int, default=None, help="study id to open (default: the demo study)")
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("dashboard.png"), help="PNG to write")
    parser.add_argument("--chromium", default=os.environ.get("CHROMIUM", "chromium"), help="Chromium executable")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for the dashboard")
    parser.add_argument("--trial", type=int, default=None,
                        help="trial number to open (default: the best feasible, else the newest)")
    parser.add_argument("--dump-dom", type=Path, default=None, metavar="DIR",
                        help="also write the rendered study.html and trial.html into DIR")
    args = parser.parse_args()

    browser = shutil.which(args.chromium)
    if browser is None:
        print(f"error: {args.chromium!r} not found; install Debian's 'chromium' package", file=sys.stderr)
        return 1
    dashboard = shutil.which("optuna-dashboard")
    if dashboard is None:
        print("error: optuna-dashboard not found; pip install 'optuna-whale[dev]'", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        storage = args.storage or f"sqlite:///{Path(tmp) / 'demo.db'}"
        study_id = args.study_id
        if args.storage is None:
            _, study_id = make_demo_study(storage)
        study_id = study_id or 1
        port = _free_port()
        server = subprocess.Popen(
            [dashboard, storage, "--host", "127.0.0.1", "--port", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.time() + args.timeout
            while True:
                try:
                    urllib.request.urlopen(f"{base}/api/studies", timeout=2).read()
                    break
                except OSError:
                    if time.time() > deadline:
                        print("error: optuna-dashboard did not answer", file=sys.stderr)
                        return 1
                    time.sleep(0.3)
            args.out.parent.mkdir(parents=True, exist_ok=True)
            import json

            detail = json.loads(urllib.request.urlopen(f"{base}/api/studies/{study_id}", timeout=10).read())
            last = max((t["number"] for t in detail["trials"]), default=0)
            number = _best_feasible(storage, study_id, last) if args.trial is None else args.trial
            page = f"{base}/dashboard/studies/{study_id}/trials?numbers={number}"
            common = [browser, *CHROMIUM_FLAGS, f"--user-data-dir={Path(tmp) / 'profile'}",
                      "--window-size=1500,950", "--virtual-time-budget=15000"]
            subprocess.run([*common, f"--screenshot={args.out.resolve()}", page], check=True, timeout=120,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if args.dump_dom is not None:
                args.dump_dom.mkdir(parents=True, exist_ok=True)
                for name, url in (("study.html", f"{base}/dashboard/studies/{study_id}"), ("trial.html", page)):
                    dom = subprocess.run([*common, "--dump-dom", url], check=True, timeout=120,
                                         capture_output=True, text=True).stdout
                    (args.dump_dom / name).write_text(dom)
        finally:
            server.terminate()
            server.wait(timeout=10)
    size = args.out.stat().st_size if args.out.exists() else 0
    if size < 10_000:
        print(f"error: screenshot {args.out} missing or blank ({size} bytes)", file=sys.stderr)
        return 1
    print(f"wrote {args.out} ({size} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
