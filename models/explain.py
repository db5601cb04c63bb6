"""Every number unfolds: one entry of a captured pass, recomputed from the values of the step before and the model's
parameters, one term at a time.

An `Unfolding` says how a shown value was made: its formula, its terms (a long sum gives its largest terms and one
"… n more" line carrying the rest), their sum, the value recomputed from that sum in float64 (`total`), and the
scalars the formula used (μ, σ, T, a row's max and its Σ exp). The rules are wired from the module tree: a family
hands its modules to a `Wiring`, which reads hook and parameter names from the model (nothing is typed twice), and
gets back its `Unfoldings`, one rule per hook name.

Indices are into a hook's value without the batch axis, as `run_with_cache` of a loaded model gives it: a per-head
value is [n_heads, pos, d_head], so its index holds the head first. Weights are written as the formulas read them,
W[in, out] (an nn.Linear keeps weight[out, in]).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

from models.hooks import HookPoint, name_of
from models.mlp import Affine, ReLULayer
from models.parts import Attention, Block, Embedded, FeedForward, LayerNorm
from models.sampling import next_token_distribution

TOP_TERMS = 8  # a longer sum shows its largest terms by |value| and one "… n more" line with the rest's sum
SCALED, PROBS = "output.scaled", "output.probs"  # the next token after the last position: not hooks, the output's
NEXT_TOKEN = (SCALED, PROBS)
Index = tuple[int, ...]


@dataclass(frozen=True)
class Term:
    """One addend: what it is, its value (float64) and, for a product, the numbers multiplied."""

    label: str
    value: float
    factors: tuple[float, ...] = ()


@dataclass(frozen=True)
class Unfolding:
    """How one shown value was computed from the step before."""

    hook: str
    index: Index
    value: float | None  # the value the pass computed and the page shows; None where it is masked (-inf)
    formula: str
    terms: list[Term]  # the addends shown: all of them, or the largest and one "… n more" line with the rest's sum
    n_terms: int  # how many addends the sum has in all
    sum: float  # Σ of every addend, in float64
    total: float | None  # the value recomputed from `sum` by the formula, in float64; None where masked
    inputs: dict[str, float] = field(default_factory=dict)  # the scalars the formula used
    params: list[str] = field(default_factory=list)  # the model's parameters it read, by their names
    note: str | None = None


@dataclass(frozen=True)
class NextToken:
    """The sampling settings a next-token value was made with (as a forward request gives them)."""

    temperature: float = 1.0
    top_k: int | None = None
    top_p: float | None = None
    repetition_penalty: float | None = None
    previous: tuple[int, ...] = ()  # the text so far, for the repetition penalty
    exclude: tuple[int, ...] = ()  # tokens that may never come next (a translator's start token)


@dataclass(frozen=True)
class Captured:
    """One pass: every hook's value without the batch axis, and what the model read.

    `inputs` holds the model's inputs by the names rules read them under (token ids under the name of the embedding's
    hook, an MLP's x under "x"); `logits` the next-token logits after the last position (text models)."""

    cache: Mapping[str, torch.Tensor]
    inputs: Mapping[str, torch.Tensor] = field(default_factory=dict)
    logits: torch.Tensor | None = None

    def value(self, name: str) -> torch.Tensor:
        found = self.cache.get(name)
        return self.inputs[name] if found is None else found

    def shape(self, name: str) -> tuple[int, ...] | None:
        if name in self.cache:
            return tuple(self.cache[name].shape)
        if name in NEXT_TOKEN and self.logits is not None:
            return tuple(self.logits.shape)
        return None


class ExplainError(ValueError):
    """A request no rule answers; the subclasses say why."""


class UnknownHookError(ExplainError):
    def __init__(self, hook: str, known: list[str]) -> None:
        super().__init__(f"unknown hook {hook!r}")
        self.hook, self.known = hook, known


class BadIndexError(ExplainError):
    def __init__(self, hook: str, index: Sequence[int], shape: tuple[int, ...]) -> None:
        super().__init__(f"index {list(index)} does not fit {hook}'s shape {list(shape)}")
        self.hook, self.index, self.shape = hook, list(index), shape


class NoUnfoldingError(ExplainError):
    def __init__(self, hook: str, reason: str) -> None:
        super().__init__(f"{hook} has no unfolding: {reason}")
        self.hook, self.reason = hook, reason


Rule = Callable[[Captured, Index, NextToken], Unfolding]
LEARNED = (
    "Set by training and the same for every input: no step before computes it. The page's Training section gives "
    "the command that trains it again."
)


@dataclass(frozen=True)
class Parameter:
    """A learned tensor as the formulas name it: W1 for layers.0.linear.weight, whose index is [out, in] while the
    formulas read W1[in, out] (`transposed`); `names` names the entries of its first axis (E's rows are words)."""

    tensor: torch.Tensor
    symbol: str
    transposed: bool = False
    names: Sequence[str] = ()

    def unfold(self, name: str, index: Sequence[int]) -> Unfolding:
        shape = tuple(self.tensor.shape)
        if len(index) != len(shape) or not all(0 <= i < n for i, n in zip(index, shape, strict=True)):
            raise BadIndexError(name, index, shape)
        at: list[str] = [str(i) for i in index]
        if self.names:
            at[0] = repr(self.names[index[0]])
        shown = ", ".join(reversed(at) if self.transposed else at)
        value = _f(self.tensor[tuple(index)].double())
        label = f"{self.symbol}[{shown}]"
        return Unfolding(
            name, tuple(index), value, f"{self.symbol}: a learned parameter", [Term(label, value)], 1, value, value,
            params=[name], note=LEARNED,
        )  # fmt: skip


@dataclass(frozen=True)
class Unfoldings:
    """A model's rules, one per hook name (and the next-token values), and what it says of a hook without one."""

    rules: Mapping[str, Rule]
    refused: Mapping[str, str] = field(default_factory=dict)  # name → why it does not unfold
    default_reason: str = "this family does not unfold its numbers yet"
    parameters: Mapping[str, Parameter] = field(default_factory=dict)  # by the model's own parameter names

    def explain(self, captured: Captured, hook: str, index: Sequence[int], settings: NextToken) -> Unfolding:
        if hook in self.parameters:
            return self.parameters[hook].unfold(hook, index)
        shape = captured.shape(hook)
        if hook in self.refused:
            raise NoUnfoldingError(hook, self.refused[hook])
        if shape is None:
            raise UnknownHookError(hook, [*captured.cache, *(NEXT_TOKEN if captured.logits is not None else ())])
        if len(index) != len(shape) or not all(0 <= i < n for i, n in zip(index, shape, strict=True)):
            raise BadIndexError(hook, index, shape)
        rule = self.rules.get(hook)
        if rule is None:
            raise NoUnfoldingError(hook, self.default_reason)
        return rule(captured, tuple(index), settings)


NONE = Unfoldings({})


# --- arithmetic -------------------------------------------------------------------------------------------------


def _f(x: torch.Tensor | float) -> float:
    return float(x.detach()) if isinstance(x, torch.Tensor) else float(x)


def _shown(value: float) -> float | None:
    return None if math.isinf(value) else value


def folded(addends: Sequence[Term], fixed: Sequence[Term] = ()) -> tuple[list[Term], int, float]:
    """The terms to show, how many there are, and the sum of all of them (math.fsum: exact in float64).

    `fixed` terms (a bias, ε) are always shown, after the others. A sum of more than TOP_TERMS + 1 addends shows its
    TOP_TERMS largest by |value|, largest first, then "… n more" carrying the others' sum."""
    every = [*addends, *fixed]
    total = math.fsum(t.value for t in every)
    if len(addends) <= TOP_TERMS + 1:
        return every, len(every), total
    largest = sorted(range(len(addends)), key=lambda i: -abs(addends[i].value))[:TOP_TERMS]
    chosen = set(largest)
    rest = [t.value for i, t in enumerate(addends) if i not in chosen]
    more = Term(f"… {len(rest)} more", math.fsum(rest))
    return [*(addends[i] for i in largest), more, *fixed], len(every), total


def _products(a: Sequence[float], b: Sequence[float], label: Callable[[int], str]) -> list[Term]:
    return [Term(label(i), x * y, (x, y)) for i, (x, y) in enumerate(zip(a, b, strict=True))]


def _row(t: torch.Tensor) -> list[float]:
    values: list[float] = t.detach().double().tolist()
    return values


# --- wiring -----------------------------------------------------------------------------------------------------


class Wiring:
    """Builds a model's rules from its modules: names of hooks and parameters come from the module tree."""

    def __init__(self, model: nn.Module, vocab: Sequence[str] = ()) -> None:
        self.model = model
        self.vocab = list(vocab)
        self._params = {id(p): name for name, p in model.named_parameters()}
        self.rules: dict[str, Rule] = {}
        self.refused: dict[str, str] = {}
        self.symbols: dict[str, Parameter] = {}  # how the formulas name each parameter they read
        self.start = "x = E[token] + PE[pos]"  # the residual stream's start, as `embedded` made it

    def hook(self, point: HookPoint) -> str:
        return name_of(self.model, point)

    def param(self, p: torch.Tensor) -> str:
        return self._params[id(p)]

    def linear_name(self, linear: nn.Linear) -> str:
        """W_Q for blocks.0.attn.W_Q, unembed for the unembedding: the module's own name in its parent."""
        return self.param(linear.weight).removesuffix(".weight").rsplit(".", 1)[-1]

    def done(self) -> Unfoldings:
        """The rules, and every parameter as a formula names it (by its own name when no formula reads it)."""
        parameters = {name: self.symbols.get(name, Parameter(p.detach(), name)) for name, p in
                      self.model.named_parameters()}  # fmt: skip
        return Unfoldings(dict(self.rules), dict(self.refused), parameters=parameters)

    def named(self, p: torch.Tensor, symbol: str, *, transposed: bool = False, names: Sequence[str] = ()) -> str:
        """`p`'s name, noting how the formulas write it."""
        name = self.param(p)
        self.symbols[name] = Parameter(p.detach(), symbol, transposed, names)
        return name

    def word(self, token: int) -> str:
        return repr(self.vocab[token]) if token < len(self.vocab) else str(token)

    # -- the shared parts

    def embedding(
        self, embed: str, table: nn.Embedding, vocab: Sequence[str] | None = None, *, letter: str = "E", what: str = ""
    ) -> None:
        """`embed` is a token's row of `table`: [pos, d] (one row per token read), or [d] (the last token's). The
        token ids are the pass's input under the name `embed`; `vocab` names them (the wiring's by default; empty:
        rows are named by their number). `letter` names the table, `what` its rows (a learned table of positions:
        letter "P", what "position")."""
        words = self.vocab if vocab is None else list(vocab)
        formula = (
            f"{letter}[{what}, d]: the {what}'s row of the {what} table"
            if what
            else "E[token, d]: the token's row of the embedding table"
        )
        weight = table.weight
        weight_name = self.named(weight, letter, names=words)

        def token_row(c: Captured, index: Index, _: NextToken) -> Unfolding:
            *at, d = index
            ids = c.inputs[embed]
            token = int(ids[at[0]] if at else ids[-1])
            entry = _f(weight[token, d].double())
            label = f"{letter}[{words[token]!r}, {d}]" if token < len(words) else f"{letter}[{token}, {d}]"
            return Unfolding(
                embed, index, _f(c.cache[embed][index]), formula,
                [Term(label, entry)], 1, entry, entry, {"token id": token, "d": d}, [weight_name],
            )  # fmt: skip

        self.rules[embed] = token_row

    def embedded(self, module: Embedded, vocab: Sequence[str] | None = None) -> list[str]:
        """hook_embed (a row of the table) and hook_pos_embed (the sinusoid, evaluated, or a row of the learned table
        P, whose positions the pass's inputs hold under the hook's name); returns their names, the parts of the
        residual stream's start. `vocab` names the table's tokens (the wiring's vocabulary by default)."""
        embed, pos = self.hook(module.hook_embed), self.hook(module.hook_pos_embed)
        self.embedding(embed, module.embed, vocab)
        if module.pos_embed is not None:
            self.embedding(pos, module.pos_embed, (), letter="P", what="position")
            self.start = "x = E[token] + P[pos]"
            return [embed, pos]
        d_model = module.embed.embedding_dim

        def sinusoid(c: Captured, index: Index, _: NextToken) -> Unfolding:
            p, d = index
            two_i = d - d % 2
            angle = p / 10000 ** (two_i / d_model)
            fn, value = ("sin", math.sin(angle)) if d % 2 == 0 else ("cos", math.cos(angle))
            formula = f"PE[pos, {d}] = {fn}(pos / 10000^({two_i}/{d_model}))"
            return Unfolding(
                pos, index, _f(c.cache[pos][index]), formula, [Term(f"{fn}({angle:.6g})", value)], 1, value, value,
                {"pos": p, "2i": two_i, "d_model": d_model, "angle": angle},
            )  # fmt: skip

        self.rules[pos] = sinusoid
        return [embed, pos]

    def sum(self, after: str, parts: Sequence[str], formula: str) -> None:
        """`after` is the sum of the same entry of each part (a residual add; one part: the same value, passed on)."""

        def add(c: Captured, index: Index, _: NextToken) -> Unfolding:
            terms = [Term(part, _f(c.value(part)[index].double())) for part in parts]
            total = math.fsum(t.value for t in terms)
            return Unfolding(after, index, _f(c.cache[after][index]), formula, terms, len(terms), total, total)

        self.rules[after] = add

    def layer_norm(self, ln: LayerNorm, before: str) -> str:
        """hook_mean, hook_std and hook_normalized of one layer norm, from `before`'s row."""
        mean, std, out = self.hook(ln.hook_mean), self.hook(ln.hook_std), self.hook(ln.hook_normalized)
        eps, gamma, beta = ln.ln.eps, ln.ln.weight, ln.ln.bias
        params = [self.named(gamma, "γ"), self.named(beta, "β")]

        def stats(x: list[float]) -> tuple[float, float]:
            mu = math.fsum(x) / len(x)
            return mu, math.sqrt(math.fsum((v - mu) ** 2 for v in x) / len(x) + eps)

        def mean_of(c: Captured, index: Index, _: NextToken) -> Unfolding:
            x = _row(c.value(before)[index[0]])
            terms, n, total = folded([Term(f"x[{d}] / {len(x)}", v / len(x), (v,)) for d, v in enumerate(x)])
            return Unfolding(
                mean, index, _f(c.cache[mean][index]), f"μ = Σ_d x_d / d_model, x = {before}", terms, n, total, total,
                {"d_model": len(x)},
            )  # fmt: skip

        def std_of(c: Captured, index: Index, _: NextToken) -> Unfolding:
            x = _row(c.value(before)[index[0]])
            mu = math.fsum(x) / len(x)
            squares = [Term(f"(x[{d}] − μ)² / {len(x)}", (v - mu) ** 2 / len(x), (v,)) for d, v in enumerate(x)]
            terms, n, total = folded(squares, [Term("ε", eps)])
            return Unfolding(
                std, index, _f(c.cache[std][index]), f"σ = √(Σ_d (x_d − μ)² / d_model + ε), x = {before}", terms, n,
                total, math.sqrt(total), {"μ": mu, "ε": eps, "d_model": len(x)},
            )  # fmt: skip

        def normalized(c: Captured, index: Index, _: NextToken) -> Unfolding:
            p, d = index
            x = _row(c.value(before)[p])
            mu, sigma = stats(x)
            g, b = _f(gamma[d].double()), _f(beta[d].double())
            scaled = (x[d] - mu) / sigma
            terms = [Term(f"(x[{d}] − μ) / σ · γ[{d}]", scaled * g, (scaled, g)), Term(f"β[{d}]", b)]
            total = math.fsum(t.value for t in terms)
            return Unfolding(
                out, index, _f(c.cache[out][index]), f"(x − μ) / σ · γ + β, x = {before}", terms, 2, total, total,
                {"x": x[d], "μ": mu, "σ": sigma, "γ": g, "β": b, "ε": eps}, params,
            )  # fmt: skip

        self.rules.update({mean: mean_of, std: std_of, out: normalized})
        return out

    def affine(
        self,
        after: str,
        linear: nn.Linear,
        before: str,
        *,
        heads_out: tuple[int, int] | None = None,
        heads_in: bool = False,
        what: str = "",
        label: str | None = None,
        symbol: str = "x",
    ) -> None:
        """`after` = `before`'s row · W + b, one entry: a column of W times the row, plus the bias (if it has one).

        `heads_out` (n_heads, d_head): `after` is split into heads, [n_heads, pos, d_head]. `heads_in`: `before` is,
        and its heads are concatenated (attention's z before W_O). A value with no position axis (an MLP's) is one
        row. `label` names W in the terms (the module's own name by default), `symbol` the row."""
        W, bias = linear.weight, linear.bias
        w_name = label or self.linear_name(linear)
        b_label = "b" + w_name.removeprefix("W") if w_name.startswith("W") else f"{w_name}.bias"
        params = [self.named(W, w_name, transposed=True)] + ([] if bias is None else [self.named(bias, b_label)])
        source = what or before

        def entry(c: Captured, index: Index, _: NextToken) -> Unfolding:
            at: tuple[int, ...]
            if heads_out is not None:
                h, p, e = index
                column, at = h * heads_out[1] + e, (p,)
            else:
                *at_list, column = index
                at = tuple(at_list)
            value = c.value(before)
            if heads_in:
                d_head = value.shape[-1]
                row = _row(value[:, at[0], :].reshape(-1))

                def term(i: int) -> str:
                    return f"z[h{i // d_head}, {i % d_head}] · {w_name}[{i}, {column}]"
            else:
                row = _row(value[at] if at else value)

                def term(i: int) -> str:
                    return f"{symbol}[{i}] · {w_name}[{i}, {column}]"

            fixed = [] if bias is None else [Term(f"{b_label}[{column}]", _f(bias[column].double()))]
            terms, n, total = folded(_products(row, _row(W[column]), term), fixed)
            x = "z" if heads_in else symbol
            plus = "" if bias is None else f" + {b_label}[{column}]"
            formula = f"{x} · {w_name}[:, {column}]{plus}" + ("" if source == x else f", {x} = {source}")
            return Unfolding(after, index, _f(c.cache[after][index]), formula, terms, n, total, total, {}, params)

        self.rules[after] = entry

    def activation(self, after: str, before: str, kind: str) -> None:
        """`after` = ReLU, GELU or "GELU (tanh)" (GPT-2's approximation) of the same entry of `before`."""

        def unit(c: Captured, index: Index, _: NextToken) -> Unfolding:
            x = _f(c.value(before)[index].double())
            if kind == "ReLU":
                total = max(0.0, x)
                note = None if x > 0 else "z ≤ 0: the unit is off, so its output is 0"
                return Unfolding(
                    after, index, _f(c.cache[after][index]), f"ReLU(z) = max(0, z), z = {before}",
                    [Term(f"z = {before}", x)], 1, x, total, {"z": x}, note=note,
                )  # fmt: skip
            if kind == "GELU (tanh)":
                inner = math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)
                half = 0.5 * (1 + math.tanh(inner))
                return Unfolding(
                    after, index, _f(c.cache[after][index]),
                    f"GELU(x) ≈ x · ½(1 + tanh(√(2/π) · (x + 0.044715 x³))), x = {before}",
                    [Term("x · ½(1 + tanh(…))", x * half, (x, half))], 1, x * half, x * half,
                    {"x": x, "√(2/π) · (x + 0.044715 x³)": inner, "½(1 + tanh(…))": half},
                )  # fmt: skip
            phi = 0.5 * (1 + math.erf(x / math.sqrt(2)))
            return Unfolding(
                after, index, _f(c.cache[after][index]), f"GELU(x) = x · Φ(x), Φ(x) = ½(1 + erf(x / √2)), x = {before}",
                [Term("x · Φ(x)", x * phi, (x, phi))], 1, x * phi, x * phi, {"x": x, "Φ(x)": phi},
            )  # fmt: skip

        self.rules[after] = unit

    def attention(self, attn: Attention, query_in: str, key_in: str, out: str) -> None:
        """Q, K, V, the raw and scaled scores (with the mask), the pattern, z, and `out` through W_O."""
        names = {h: self.hook(getattr(attn, f"hook_{h}")) for h in ("q", "k", "v", "scores_raw", "scores", "pattern",
                                                                     "z")}  # fmt: skip
        q, k, v, raw, scores, pattern, z = names.values()
        split = (attn.n_heads, attn.d_head)
        root_d = math.sqrt(attn.d_head)
        self.affine(q, attn.W_Q, query_in, heads_out=split, symbol="LN(x)")
        key_symbol = "LN(x)" if key_in == query_in else "memory"
        self.affine(k, attn.W_K, key_in, heads_out=split, symbol=key_symbol)
        self.affine(v, attn.W_V, key_in, heads_out=split, symbol=key_symbol)
        self.affine(out, attn.W_O, z, heads_in=True, what=f"{z}, heads side by side")

        def hidden(c: Captured, i: int, j: int) -> bool:
            _, n_q, n_k = c.cache[raw].shape
            return bool(attn.mask(n_q, n_k)[i, j])

        def why(i: int, j: int) -> str:
            return f"masked: key {j} comes after query {i}, and a word may not look ahead"

        def dot(c: Captured, index: Index, _: NextToken) -> Unfolding:
            h, i, j = index
            qi, kj = _row(c.cache[q][h, i]), _row(c.cache[k][h, j])
            terms, n, total = folded(_products(qi, kj, lambda e: f"q[{e}] · k[{e}]"))
            return Unfolding(
                raw, index, _f(c.cache[raw][index]), f"q_i · k_j = Σ_d q_d · k_d over d_head = {attn.d_head}", terms,
                n, total, total, {"d_head": attn.d_head},
            )  # fmt: skip

        def scaled(c: Captured, index: Index, _: NextToken) -> Unfolding:
            i, j = index[1:]
            r = _f(c.cache[raw][index].double())
            masked = hidden(c, i, j)
            return Unfolding(
                scores, index, _shown(_f(c.cache[scores][index])), "s = q·k / √d_head", [Term(raw, r)], 1, r,
                None if masked else r / root_d, {"√d_head": root_d}, note=why(i, j) if masked else None,
            )  # fmt: skip

        def softmax(c: Captured, index: Index, _: NextToken) -> Unfolding:
            h, i, j = index
            row = _row(c.cache[scores][h, i])
            seen = [m for m, s in enumerate(row) if not math.isinf(s)]
            top = max(row[m] for m in seen)
            terms, n, total = folded([Term(f"exp(s[{m}] − max)", math.exp(row[m] - top)) for m in seen])
            masked = j not in seen
            numerator = 0.0 if masked else math.exp(row[j] - top)
            note = f"{why(i, j)}: its weight is 0" if masked else None
            return Unfolding(
                pattern, index, _f(c.cache[pattern][index]), "exp(s_ij − max_j s_ij) / Σ_j exp(s_ij − max_j s_ij)",
                terms, n, total, numerator / total, {**({} if masked else {"s_ij": row[j]}), "max": top,
                                                     "exp(s_ij − max)": numerator, "Σ exp": total}, note=note,
            )  # fmt: skip

        def weighted(c: Captured, index: Index, _: NextToken) -> Unfolding:
            h, i, e = index
            weights, values = _row(c.cache[pattern][h, i]), _row(c.cache[v][h, :, e])
            seen = [j for j in range(len(weights)) if not hidden(c, i, j)]
            addends = [Term(f"pattern[{j}] · v[{j}]", weights[j] * values[j], (weights[j], values[j])) for j in seen]
            terms, n, total = folded(addends)
            n_masked = len(weights) - len(seen)
            note = f"{n_masked} later key(s) are masked: weight 0" if n_masked else None
            return Unfolding(
                z, index, _f(c.cache[z][index]), "z_i = Σ_j pattern_ij · v_j", terms, n, total, total, note=note
            )

        self.rules.update({raw: dot, scores: scaled, pattern: softmax, z: weighted})

    def feed_forward(self, mlp: FeedForward, before: str, out: str) -> None:
        pre, post = self.hook(mlp.hook_pre), self.hook(mlp.hook_post)
        self.affine(pre, mlp.W_in, before, symbol="LN(x)")
        self.activation(post, pre, "GELU (tanh)" if mlp.approximate == "tanh" else "GELU")
        self.affine(out, mlp.W_out, post, symbol="GELU")

    def relu_layer(self, layer: Affine, before: str, label: str, symbol: str) -> str:
        """z = W·a + b, then a = ReLU(z) for a hidden layer; returns the name of its output."""
        z = self.hook(layer.hook_z)
        self.affine(z, layer.linear, before, label=label, symbol=symbol)
        if not isinstance(layer, ReLULayer):
            return z
        a = self.hook(layer.hook_a)
        self.activation(a, z, "ReLU")
        return a

    def block(self, block: Block, before: Sequence[str]) -> str:
        """A pre-LN block whose input is the sum of `before` (the embeddings, or the block before's output);
        returns the name of its output."""
        pre = self.resid_pre(block.hook_resid_pre, before)
        attn_out, mid = self.hook(block.hook_attn_out), self.hook(block.hook_resid_mid)
        ln1 = self.layer_norm(block.ln1, pre)
        self.attention(block.attn, ln1, ln1, attn_out)
        self.sum(mid, [pre, attn_out], "x′ = x + attention out")
        mlp_out, post = self.hook(block.hook_mlp_out), self.hook(block.hook_resid_post)
        self.feed_forward(block.mlp, self.layer_norm(block.ln2, mid), mlp_out)
        self.sum(post, [mid, mlp_out], "x′ = x + feed-forward out")
        return post

    def resid_pre(self, point: HookPoint, before: Sequence[str]) -> str:
        pre = self.hook(point)
        formula = self.start if len(before) == 2 else f"the residual stream goes on: x = {before[0]}"
        self.sum(pre, before, formula)
        return pre

    def next_token(self) -> None:
        """output.scaled (logits / T) and output.probs (softmax(logits / T) over the kept set, renormalised), from
        the next-token logits that come with the pass (`Captured.logits`)."""

        def distribution(c: Captured, s: NextToken) -> tuple[torch.Tensor, list[float], list[int], list[float]]:
            assert c.logits is not None
            dist = next_token_distribution(
                c.logits, s.temperature, s.top_k, s.top_p, s.repetition_penalty, s.previous, s.exclude
            )
            return dist.probs, _row(dist.logits), dist.kept, [] if dist.scaled is None else _row(dist.scaled)

        def settings(s: NextToken) -> dict[str, float]:
            found = {"T": s.temperature}
            found.update({k: float(v) for k, v in (("top_k", s.top_k), ("top_p", s.top_p),
                                                   ("penalty", s.repetition_penalty)) if v is not None})  # fmt: skip
            return found

        def scaled(c: Captured, index: Index, s: NextToken) -> Unfolding:
            (t,) = index
            _, logits, _, shown = distribution(c, s)
            label = f"logit[{self.word(t)}]"
            zero = s.temperature == 0
            note = "T = 0: nothing is divided; all mass goes to the argmax" if zero else self._penalised(t, s)
            return Unfolding(
                SCALED, index, shown[t] if shown else None, "logit / T", [Term(label, logits[t])], 1, logits[t],
                None if zero else logits[t] / s.temperature, settings(s), note=note,
            )  # fmt: skip

        def probability(c: Captured, index: Index, s: NextToken) -> Unfolding:
            (t,) = index
            probs, logits, kept, _ = distribution(c, s)
            value = _f(probs[t])
            inputs = settings(s)
            if s.temperature == 0:
                first = kept[0]
                total = 1.0 if t == first else 0.0
                note = f"T = 0: all mass goes to the argmax, {self.word(first)}"
                return Unfolding(PROBS, index, value, "p = 1 for the argmax, 0 for the others", [], 0, 0.0, total,
                                 inputs, note=note)  # fmt: skip
            T = s.temperature
            alive = [m for m in kept if probs[m] > 0]
            top = max(logits[m] for m in alive)
            addends = [Term(f"exp((logit[{self.word(m)}] − max) / T)", math.exp((logits[m] - top) / T)) for m in alive]
            terms, n, total = folded(addends)
            keeps = t in alive
            numerator = math.exp((logits[t] - top) / T) if keeps else 0.0
            filters = [] if s.top_k is None else [f"top-k = {s.top_k}"]
            filters += [] if s.top_p is None else [f"top-p = {s.top_p:g}"]
            kept_by = " and ".join(filters) or "no filter"
            note = f"{len(alive)} of {len(logits)} tokens kept ({kept_by}); the sum runs over those and renormalises"
            if not keeps:
                note = f"{self.word(t)} is not kept ({kept_by}): its probability is 0"
            penalised = self._penalised(t, s)
            inputs.update({"logit": logits[t], "max": top, "exp((logit − max) / T)": numerator, "Σ exp": total,
                           "kept": float(len(alive))})  # fmt: skip
            return Unfolding(
                PROBS, index, value, "p = exp((logit − max) / T) / Σ_kept exp((logit − max) / T)", terms, n, total,
                numerator / total, inputs, note=note if penalised is None else f"{note}; {penalised}",
            )  # fmt: skip

        self.rules.update({SCALED: scaled, PROBS: probability})

    def _penalised(self, t: int, s: NextToken) -> str | None:
        if s.repetition_penalty is None or t not in s.previous:
            return None
        return f"{self.word(t)} is in the text: its logit was penalised (÷ or × {s.repetition_penalty:g})"
