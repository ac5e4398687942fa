"""Low-rank factorization: SVD for Linear, Tucker-2 for Conv2d, by rank or by kept energy.

Linear: ``W = U S Vh``; rank ``r`` gives ``Linear(in, r, bias=False)`` with weight
``sqrt(S_r) Vh_r`` followed by ``Linear(r, out)`` with weight ``U_r sqrt(S_r)`` and the bias.
Conv2d (groups=1): Tucker-2 (HOSVD) ``W ~= core x_0 U_out x_1 U_in`` becomes
1x1 conv (in -> r_in) -> kxk conv (r_in -> r_out, stride/padding/dilation kept) ->
1x1 conv (r_out -> out, bias). Both are exact at full rank.
Embedding/EmbeddingBag (V x d table E): ``E = (U_r sqrt(S_r)) (sqrt(S_r) Vh_r)`` becomes an
``r``-dim table followed by ``Linear(r, d, bias=False)``; exact for lookups and for bag
``sum``/``mean`` (both linear), and the padding row stays zero.
Energy: the smallest ``r`` with ``sum(S[:r]**2) / sum(S**2) >= energy``.
The SVDs run in float64; the factors get the replaced layer's dtype, device, train/eval mode
and ``requires_grad``. A layer whose parent reads its ``.weight`` directly (the ``out_proj`` of
``nn.MultiheadAttention``, ``linear1``/``linear2`` of ``nn.TransformerEncoderLayer``) cannot be
replaced by a ``Sequential``: ``factorize`` refuses it, and ``factorizable_layers`` leaves it out.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping

import torch
from torch import nn

from optuna_whale.compression.models import weights_read_by_parent


def _rank_from_energy(s: torch.Tensor, energy: float, name: str) -> int:
    if not 0.0 < energy <= 1.0:
        raise ValueError(f"energy for {name!r} is {energy}; allowed: 0 < energy <= 1")
    cum = torch.cumsum(s.double() ** 2, 0) / torch.sum(s.double() ** 2).clamp_min(1e-300)
    return int(min(len(s), int(torch.searchsorted(cum, torch.tensor(energy - 1e-12, dtype=torch.float64)).item()) + 1))


def _check_rank(rank: int, full: int, name: str) -> int:
    if not isinstance(rank, int) or isinstance(rank, bool) or not 1 <= rank <= full:
        raise ValueError(f"rank for {name!r} is {rank!r}; allowed: integers 1..{full}")
    return rank


def _like(new: nn.Sequential, old: nn.Module) -> nn.Sequential:
    """Give the factors ``old``'s train/eval mode and its weight's ``requires_grad``."""
    new.train(old.training)
    weight = getattr(old, "weight", None)
    if isinstance(weight, torch.Tensor):
        for p in new.parameters():
            p.requires_grad_(weight.requires_grad)
    return new


def svd_linear(
    layer: nn.Linear, rank: int | None = None, energy: float | None = None, name: str = "linear"
) -> nn.Sequential:
    """Two Linear layers approximating ``layer`` (give exactly one of ``rank`` / ``energy``)."""
    if (rank is None) == (energy is None):
        raise ValueError(f"give exactly one of rank or energy for {name!r}")
    w = layer.weight.detach().double()
    u, s, vh = torch.linalg.svd(w, full_matrices=False)
    r = _check_rank(rank, len(s), name) if rank is not None else _rank_from_energy(s, float(energy), name)  # type: ignore[arg-type]
    root = torch.sqrt(s[:r])
    dt, dev = layer.weight.dtype, layer.weight.device
    first = nn.Linear(layer.in_features, r, bias=False, dtype=dt, device=dev)
    second = nn.Linear(r, layer.out_features, bias=layer.bias is not None, dtype=dt, device=dev)
    with torch.no_grad():
        first.weight.copy_(root[:, None] * vh[:r])
        second.weight.copy_(u[:, :r] * root[None, :])
        if layer.bias is not None:
            second.bias.copy_(layer.bias.detach())
    return _like(nn.Sequential(first, second), layer)


def tucker2_conv(
    conv: nn.Conv2d,
    ranks: tuple[int, int] | None = None,
    energy: float | None = None,
    name: str = "conv",
) -> nn.Sequential:
    """Tucker-2 of a groups=1 Conv2d; ``ranks=(r_out, r_in)`` or one ``energy`` for both modes."""
    if conv.groups != 1:
        raise ValueError(f"Tucker-2 needs groups=1; layer {name!r} has groups={conv.groups}")
    if (ranks is None) == (energy is None):
        raise ValueError(f"give exactly one of ranks or energy for {name!r}")
    w = conv.weight.detach().double()  # (out, in, kh, kw)
    c_out, c_in = w.shape[0], w.shape[1]
    u_out, s_out, _ = torch.linalg.svd(w.reshape(c_out, -1), full_matrices=False)
    u_in, s_in, _ = torch.linalg.svd(w.transpose(0, 1).reshape(c_in, -1), full_matrices=False)
    if ranks is not None:
        r_out = _check_rank(ranks[0], len(s_out), f"{name} (output mode)")
        r_in = _check_rank(ranks[1], len(s_in), f"{name} (input mode)")
    else:
        r_out = _rank_from_energy(s_out, float(energy), name)  # type: ignore[arg-type]
        r_in = _rank_from_energy(s_in, float(energy), name)  # type: ignore[arg-type]
    a, b = u_out[:, :r_out], u_in[:, :r_in]
    core = torch.einsum("oikl,or,is->rskl", w, a, b)
    dt, dev = conv.weight.dtype, conv.weight.device
    first = nn.Conv2d(c_in, r_in, 1, bias=False, dtype=dt, device=dev)
    middle = nn.Conv2d(
        r_in, r_out, conv.kernel_size, stride=conv.stride, padding=conv.padding,  # type: ignore[arg-type]
        dilation=conv.dilation, bias=False, padding_mode=conv.padding_mode, dtype=dt, device=dev,  # type: ignore[arg-type]
    )
    last = nn.Conv2d(r_out, c_out, 1, bias=conv.bias is not None, dtype=dt, device=dev)
    with torch.no_grad():
        first.weight.copy_(b.t()[:, :, None, None])
        middle.weight.copy_(core)
        last.weight.copy_(a[:, :, None, None])
        if conv.bias is not None and last.bias is not None:
            last.bias.copy_(conv.bias.detach())
    return _like(nn.Sequential(first, middle, last), conv)


EMBEDDING_TYPES: tuple[type[nn.Module], ...] = (nn.Embedding, nn.EmbeddingBag)


def svd_embedding(
    emb: nn.Embedding | nn.EmbeddingBag,
    rank: int | None = None,
    energy: float | None = None,
    name: str = "embedding",
) -> nn.Sequential:
    """``r``-dim embedding (same kind, mode and padding) followed by ``Linear(r, d, bias=False)``."""
    if (rank is None) == (energy is None):
        raise ValueError(f"give exactly one of rank or energy for {name!r}")
    if isinstance(emb, nn.EmbeddingBag) and emb.mode not in ("sum", "mean"):
        raise ValueError(f"EmbeddingBag {name!r} has mode={emb.mode!r}; allowed: 'sum', 'mean'")
    w = emb.weight.detach().double()
    u, s, vh = torch.linalg.svd(w, full_matrices=False)
    r = _check_rank(rank, len(s), name) if rank is not None else _rank_from_energy(s, float(energy), name)  # type: ignore[arg-type]
    root = torch.sqrt(s[:r])
    table = u[:, :r] * root[None, :]
    if emb.padding_idx is not None:
        table[emb.padding_idx] = 0.0
    small: nn.Module
    dt, dev = emb.weight.dtype, emb.weight.device
    if isinstance(emb, nn.EmbeddingBag):
        small = nn.EmbeddingBag(emb.num_embeddings, r, mode=emb.mode, padding_idx=emb.padding_idx, dtype=dt, device=dev)
    else:
        small = nn.Embedding(emb.num_embeddings, r, padding_idx=emb.padding_idx, dtype=dt, device=dev)
    proj = nn.Linear(r, emb.embedding_dim, bias=False, dtype=dt, device=dev)
    with torch.no_grad():
        small.weight.copy_(table)
        proj.weight.copy_((root[:, None] * vh[:r]).t())
    return _like(nn.Sequential(small, proj), emb)


def conv_mode_ranks(conv: nn.Conv2d) -> tuple[int, int]:
    """Full Tucker-2 ranks (output mode, input mode): min(out, in*k*k), min(in, out*k*k)."""
    kk = conv.kernel_size[0] * conv.kernel_size[1]
    return min(conv.out_channels, conv.in_channels * kk), min(conv.in_channels, conv.out_channels * kk)


def full_rank(module: nn.Module) -> int:
    """min(out, in) for Linear; min(V, d) for embeddings; the larger Tucker-2 mode rank for Conv2d."""
    if isinstance(module, nn.Linear):
        return min(module.in_features, module.out_features)
    if isinstance(module, (nn.Embedding, nn.EmbeddingBag)):
        return min(int(module.num_embeddings), int(module.embedding_dim))
    if isinstance(module, nn.Conv2d):
        return max(conv_mode_ranks(module))
    raise ValueError(
        f"{type(module).__name__} cannot be factorized; allowed: Linear, Conv2d, Embedding, EmbeddingBag"
    )


def rank_from_ratio(module: nn.Module, ratio: float, name: str) -> int | tuple[int, int]:
    """``max(1, round(ratio * full))`` per mode for ``ratio`` in (0, 1].

    Linear: one int; Conv2d: (r_out, r_in) from ``conv_mode_ranks``.
    """
    if not 0.0 < ratio <= 1.0:
        raise ValueError(f"rank ratio for {name!r} is {ratio}; allowed: 0 < ratio <= 1")
    if isinstance(module, nn.Conv2d):
        fo, fi = conv_mode_ranks(module)
        return max(1, round(ratio * fo)), max(1, round(ratio * fi))
    return max(1, round(ratio * full_rank(module)))


def saves_parameters(module: nn.Module, rank: int | tuple[int, int]) -> bool:
    """Whether factorizing ``module`` at ``rank`` stores fewer weights than the layer itself.

    Linear/embedding ``(a x b)``: ``r (a + b) < a b``; Conv2d ``(o, i, k, k)`` with
    ``(r_o, r_i)``: ``i r_i + r_i r_o k k + r_o o < o i k k``.
    """
    if isinstance(module, nn.Conv2d):
        ro, ri = rank if isinstance(rank, tuple) else (rank, rank)
        kk = module.kernel_size[0] * module.kernel_size[1]
        o, i = module.out_channels, module.in_channels
        return i * ri + ri * ro * kk + ro * o < o * i * kk
    r = rank[0] if isinstance(rank, tuple) else rank
    if isinstance(module, nn.Linear):
        a, b = module.in_features, module.out_features
    elif isinstance(module, (nn.Embedding, nn.EmbeddingBag)):
        a, b = int(module.num_embeddings), int(module.embedding_dim)
    else:
        raise ValueError(f"{type(module).__name__} cannot be factorized")
    return r * (a + b) < a * b


FACTORIZABLE_TYPES: tuple[type[nn.Module], ...] = (nn.Linear, nn.Conv2d, *EMBEDDING_TYPES)


def _why_not(module: nn.Module, name: str, readers: Mapping[str, str]) -> str | None:
    """Why ``module`` (called ``name``) cannot be factorized, or ``None`` if it can."""
    if not isinstance(module, FACTORIZABLE_TYPES):
        return (
            f"is a {type(module).__name__}; factorization handles "
            "Linear, Conv2d, Embedding and EmbeddingBag"
        )
    if name in readers:
        return f"cannot be replaced by factors ({readers[name]})"
    if isinstance(module, nn.Conv2d) and module.groups != 1:
        return f"is a Conv2d with groups={module.groups}; Tucker-2 needs groups=1"
    if isinstance(module, nn.EmbeddingBag) and module.mode not in ("sum", "mean"):
        return f"is an EmbeddingBag with mode={module.mode!r}; allowed modes: 'sum', 'mean'"
    return None


def factorizable_layers(model: nn.Module) -> list[str]:
    """Names of the layers ``factorize`` accepts, in ``named_modules`` order.

    Linear, groups=1 Conv2d, Embedding and sum/mean EmbeddingBag layers, except those whose
    parent reads their ``.weight`` directly (``models.weights_read_by_parent``).
    """
    readers = weights_read_by_parent(model)
    return [n for n, m in model.named_modules() if n and _why_not(m, n, readers) is None]


def check_factorizable(model: nn.Module, name: str, what: str = "layer") -> nn.Module:
    """Return layer ``name`` of ``model``; ValueError naming it (as ``what``) and the allowed
    layers if ``factorize`` cannot replace it."""
    modules = dict(model.named_modules())
    if name not in modules:
        raise ValueError(f"{what} {name!r} is not in the model; allowed: {factorizable_layers(model)}")
    why = _why_not(modules[name], name, weights_read_by_parent(model))
    if why is not None:
        raise ValueError(f"{what} {name!r} {why}; allowed: {factorizable_layers(model)}")
    return modules[name]


def _set_module(root: nn.Module, name: str, new: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    parent = root.get_submodule(parent_name) if parent_name else root
    setattr(parent, child, new)


def _check_runs(
    original: nn.Module, factorized: nn.Module, example_inputs: torch.Tensor, names: list[str]
) -> None:
    """ValueError if ``factorized`` fails on ``example_inputs`` where ``original`` runs."""
    from optuna_whale.compression.training import eval_mode

    try:
        with eval_mode(factorized), torch.no_grad():
            factorized(example_inputs)
    except Exception as exc:
        try:
            with eval_mode(original), torch.no_grad():
                original(example_inputs)
        except Exception as exc0:
            raise ValueError(
                f"the model does not run on example_inputs of shape {tuple(example_inputs.shape)} "
                f"even before factorization: {type(exc0).__name__}: {exc0}"
            ) from exc0
        raise ValueError(
            f"the model no longer runs after factorizing {names} (a module reads one of these "
            f"layers' weights directly instead of calling it?): {type(exc).__name__}: {exc}"
        ) from exc


def factorize(
    model: nn.Module,
    ranks: Mapping[str, int | tuple[int, int]] | None = None,
    energy: Mapping[str, float] | None = None,
    example_inputs: torch.Tensor | None = None,
) -> nn.Module:
    """Deep copy of ``model`` with the named layers replaced by factorized ones.

    ``ranks[name]``: an int for Linear/embeddings; ``(r_out, r_in)`` or one int (used for both
    modes, capped at each mode's full rank) for Conv2d. ``energy[name]``: kept energy in (0, 1].
    Every name is checked before anything is computed (``check_factorizable``: ValueError
    naming the layer and the allowed ones). With ``example_inputs`` the copy is run once (eval
    mode, no grad) and a ValueError names the layers if it fails. ``model`` is never changed.
    """
    plan: list[tuple[str, int | tuple[int, int] | None, float | None]] = [
        (n, r, None) for n, r in (ranks or {}).items()
    ] + [(n, None, float(e)) for n, e in (energy or {}).items()]
    both = sorted(set(ranks or {}) & set(energy or {}))
    if both:
        raise ValueError(f"layers {both} are given both a rank and an energy; give one of them")
    for name, rank, _ in plan:
        m = check_factorizable(model, name)
        if isinstance(rank, tuple) and not isinstance(m, nn.Conv2d):
            raise ValueError(
                f"rank for {type(m).__name__} layer {name!r} must be one int, got {rank}"
            )
    out = copy.deepcopy(model)
    modules = dict(out.named_modules())
    for name, rank, en in plan:
        m = modules[name]
        new: nn.Module
        if isinstance(m, nn.Linear):
            assert not isinstance(rank, tuple)
            new = svd_linear(m, rank=rank, energy=en, name=name)
        elif isinstance(m, (nn.Embedding, nn.EmbeddingBag)):
            assert not isinstance(rank, tuple)
            new = svd_embedding(m, rank=rank, energy=en, name=name)
        else:
            assert isinstance(m, nn.Conv2d)
            rk: tuple[int, int] | None = None
            if isinstance(rank, tuple):
                rk = rank
            elif rank is not None:
                fo, fi = conv_mode_ranks(m)
                _check_rank(rank, max(fo, fi), name)
                rk = (min(rank, fo), min(rank, fi))
            new = tucker2_conv(m, ranks=rk, energy=en, name=name)
        _set_module(out, name, new)
    if example_inputs is not None and plan:
        _check_runs(model, out, example_inputs, [n for n, _, _ in plan])
    return out
