"""Compression search on MNIST-5k (and the chatterbot text model) against honest baselines.

Protocol (image):
1. Baseline: ``SmallCNN(28x28, width 16, hidden 128)`` trained with Adam until validation
   accuracy has not improved for ``--patience`` epochs (best epoch restored): *converged*.
2. Budgets (``--budgets``, e.g. ``50x10``): ``bytes <= baseline bytes / 50`` and
   ``MACs <= baseline MACs / 10`` (``trial.set_constraint``; feasible when both hold).
3. Every trial (uniform reference and searches alike) goes through the same objective:
   budget repair ``"scale"`` (the suggested keep ratios are scaled by the largest common factor
   that meets the budget, see ``optuna_whale.compression.objective``), ``--finetune-epochs``
   epochs of fine-tuning distilled from the baseline (``--distill-alpha``, temperature
   ``--distill-temperature``), then quantization and measurement.
4. Uniform reference: one pruning ratio for conv1, conv2 and fc1, no low rank. Suggesting ratio
   0 everywhere, the repair returns the smallest uniform ratio that meets the budget (accuracy
   only falls as more channels go, so this is the best single uniform ratio); it is tried with
   every quantization of the search space and every ``--uniform-lrs`` learning rate.
5. Search: ``--trials`` trials (at most ``--search-minutes`` minutes) per sampler of
   ``--samplers`` over per-layer pruning ratios (the shape; the repair sets the scale), rank
   ratios (conv2 Tucker-2, fc1 SVD), quantization and fine-tune lr.
6. Selection on validation, report on test, the same for every method: the ``--recheck-top``
   best trials by validation accuracy are fine-tuned again with ``--recheck-seeds`` more
   fine-tune seeds; the one with the best mean validation accuracy over all its seeds is the
   method's pick. Its test accuracy is reported for the trial's own model and as the mean over
   the seeds (fine-tuning noise is about +-0.3 pt; one test image is 0.13 pt).

Text: chatterbot utterance -> topic, ``EmbeddingBag(64, mean) -> fc1(64) -> fc2``. Each of
``--text-seeds`` stratified splits (251 validation / 251 test utterances each, one utterance is
0.4 pt) gets its own converged baseline and its own ``--text-trials``-trial WhaleSampler search
that compresses the trained baseline (budget repair ``"scale_all"``: the embedding is not
prunable, so its rank ratio is scaled too): SVD of the embedding and fc1, fc1 pruning,
quantization, lr and epochs, fine-tuned with distillation; budget ``bytes <= baseline /
--text-factor``. A *tuned uncompressed* reference gives the baseline the same extra training
(lr and epochs searched, self-distillation, half the trials, same pick rule). The loss is
reported per split, against both references, and pooled over all test utterances.

The runs, the report and the plot live in :mod:`optuna_whale.bench.compression_search`.

    python benchmarks/compression.py --quick     # a tiny run into a new temporary folder
    python benchmarks/compression.py --report-only   # rebuild report.md and pareto.png from results.json
    # the committed results, in parts of at most about 25 minutes each:
    nice -n 10 python benchmarks/compression.py --budgets 50x10 --samplers whale --no-text
    nice -n 10 python benchmarks/compression.py --budgets 50x10 --samplers random --no-text --merge
    nice -n 10 python benchmarks/compression.py --budgets 100x20 --samplers whale --no-text --merge
    nice -n 10 python benchmarks/compression.py --text-only --merge
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from typing import Any

#: --quick: a tiny run that checks the script works
QUICK = dict(trials=4, text_trials=3, max_epochs=3, patience=1, finetune_epochs=1, uniform_lrs=[3e-3],
             text_seeds=2, text_patience=1, recheck_top=2, recheck_seeds=1)


def parse_budget(text: str) -> tuple[float, float]:
    """``"50x10"`` -> (50.0, 10.0)."""
    try:
        b, m = text.lower().split("x")
        return float(b), float(m)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"budget {text!r}: expected BYTESxMACS, e.g. 50x10") from exc


def build_parser() -> argparse.ArgumentParser:
    from optuna_whale.bench.compression_search import SAMPLERS, SearchSettings

    d = SearchSettings()
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--budgets", type=parse_budget, nargs="+", default=[(50.0, 10.0)],
                   help="BYTESxMACS reduction factors, e.g. 50x10 100x20")
    p.add_argument("--samplers", nargs="+", default=list(d.samplers), choices=list(SAMPLERS))
    p.add_argument("--trials", type=int, default=d.trials)
    p.add_argument("--search-minutes", type=float, default=d.search_minutes, help="time limit per search")
    p.add_argument("--finetune-epochs", type=int, default=d.finetune_epochs)
    p.add_argument("--distill-alpha", type=float, default=d.distill_alpha)
    p.add_argument("--distill-temperature", type=float, default=d.distill_temperature)
    p.add_argument("--quantization", nargs="+", default=list(d.quantization))
    p.add_argument("--uniform-lrs", type=float, nargs="+", default=list(d.uniform_lrs))
    p.add_argument("--recheck-top", type=int, default=d.recheck_top)
    p.add_argument("--recheck-seeds", type=int, default=d.recheck_seeds)
    p.add_argument("--text-trials", type=int, default=d.text_trials)
    p.add_argument("--text-seeds", type=int, default=d.text_seeds, help="chatterbot splits (seed, seed+1, ...)")
    p.add_argument("--text-factor", type=float, default=d.text_factor)
    p.add_argument("--text-patience", type=int, default=d.text_patience)
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--threads", type=int, default=d.threads)
    p.add_argument("--patience", type=int, default=d.patience)
    p.add_argument("--max-epochs", type=int, default=d.max_epochs)
    p.add_argument("--no-text", action="store_true")
    p.add_argument("--text-only", action="store_true")
    p.add_argument("--merge", action="store_true",
                   help="merge into OUT/results.json (budgets and text replace same-named parts)")
    p.add_argument("--quick", action="store_true", help="tiny run to check the script works")
    p.add_argument("--report-only", action="store_true",
                   help="rewrite report.md and pareto.png from OUT/results.json, run nothing")
    p.add_argument("--out", default=None,
                   help="results directory (default benchmarks/results/compression; "
                        "with --quick a new temporary directory)")
    return p


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    import optuna
    import torch

    from optuna_whale.bench import compression_search as cs

    if args.out is None:
        args.out = (tempfile.mkdtemp(prefix="optuna_whale_compression_quick_") if args.quick
                    else "benchmarks/results/compression")
    if args.quick:
        vars(args).update(QUICK)
    command = "python " + " ".join([os.path.relpath(sys.argv[0]) if sys.argv else "", *(argv or sys.argv[1:])])
    torch.set_num_threads(args.threads)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "results.json")
    results: dict[str, Any] = {"image": None, "text": None, "commands": []}
    if args.report_only:
        with open(path) as fh:
            cs.write_outputs(json.load(fh), args.out)
        return
    if args.merge and os.path.exists(path):
        with open(path) as fh:
            results = json.load(fh)
    results["commands"] = [*results.get("commands", []), command]
    settings = cs.SearchSettings.from_options(vars(args))
    if not args.text_only:
        results["image"] = cs.run_image(results.get("image"), settings, args.budgets)
    if not args.no_text:
        results["text"] = cs.text_benchmark(settings)
    results["settings"] = {**results.get("settings", {}),
                           **{k: v for k, v in vars(args).items() if k not in ("budgets", "merge", "out")}}
    results["torch"] = torch.__version__
    with open(path, "w") as fh:
        json.dump(results, fh, indent=1, default=str)
    print(cs.write_outputs(results, args.out))


if __name__ == "__main__":
    main()
