"""The translator in the API: the three attentions step by step, the next French word, and translation."""

from __future__ import annotations

import secrets
from functools import cache

from app import schemas
from app.errors import InputError
from app.families import gpt, text
from app.families.steps import STEPS, Label, Layout, layout, steps_from_cache
from app.walks import Walk, Walks
from models.generation import generate as run_generation
from models.registry import LoadedSeq2Seq

# The GPT's captions say "earlier" and "masked": true of masked self-attention only.
FORMULAS = {
    ("encoder", "attn", "hook_scores"): "q·kᵀ / √d_head; nothing is masked: every source word sees every other",
    ("encoder", "attn", "hook_pattern"): "softmax of each row: how much each source word attends to every source word",
    ("decoder", "cross_attn", "hook_q"): "Q = LN(x)·W_Q + b_Q: from the French words, split into heads",
    ("decoder", "cross_attn", "hook_k"): "K = encoder output·W_K + b_K: from the English words, split into heads",
    ("decoder", "cross_attn", "hook_v"): "V = encoder output·W_V + b_V: from the English words, split into heads",
    ("decoder", "cross_attn", "hook_scores"): "q·kᵀ / √d_head; nothing is masked: every English word may be read",
    (
        "decoder",
        "cross_attn",
        "hook_pattern",
    ): "softmax of each row: how much each French position reads each English word",
}
ATTENTIONS = {
    ("encoder", "attn"): "self-attention (all ↔ all)",
    ("decoder", "attn"): "masked self-attention (only earlier)",
    ("decoder", "cross_attn"): "cross-attention (target → source)",
}
TITLES = {
    **gpt.TITLES,
    "ln_cross.hook_normalized": ("Layer norm before cross-attention", "(x − mean) / std · γ + β"),
    "hook_cross_out": ("Cross-attention output", "heads concatenated, then ·W_O + b_O"),
    "hook_resid_cross": ("Residual stream after cross-attention", "x + cross-attention output"),
}


def _label(name: str) -> Label:
    side, _, rest = name.partition(".")
    if not rest.startswith("blocks."):
        if side == "encoder" and rest == "ln_final.hook_normalized":
            return "Encoder output", "the final layer norm: what every cross-attention reads", None
        title, formula = TITLES[rest]
        return f"{side.title()} · {title}", formula, None
    _, index, hook = rest.split(".", 2)
    module, _, leaf = hook.partition(".")
    if (side, module) in ATTENTIONS:
        title, formula = TITLES[f"attn.{leaf}"]
        formula = FORMULAS.get((side, module, leaf), formula)
        return f"{side.title()} block {index} · {ATTENTIONS[side, module]} · {title}", formula, None
    title, formula = TITLES[hook]
    return f"{side.title()} block {index} · {title}", formula, None


def _ids(
    model: LoadedSeq2Seq, source: float | str, target: str | None, field: str = "input"
) -> tuple[list[int], list[int]]:
    """The source's ids and the decoder's input (the start token, then the target prefix); `field` names the
    source in messages (`prompt` on generate)."""
    n_ctx = model.module.config.n_ctx
    src = text.parse_text(model, source, field)
    prefix: list[int] = []
    if target is not None and any(token in target for token in ("<s>", "</s>")):
        raise InputError("target", "it holds <s> or </s>", "The server adds the start and end tokens; leave them out.")
    if target is not None and target.strip():
        prefix = text.parse_text(model, target, "target", model.target_tokenizer)
    if len(src) > n_ctx:
        raise InputError(field, f"the text is {len(src)} tokens long", f"The encoder holds {n_ctx}; send fewer.")
    if len(prefix) + 1 > n_ctx:
        raise InputError("target", f"the prefix is {len(prefix)} tokens long", f"Send at most {n_ctx - 1}.")
    return src, [model.bos_id, *prefix]


@cache
def _layout(model: LoadedSeq2Seq) -> list[Layout]:
    return layout(model.module, _label)


def walk(model: LoadedSeq2Seq, source: list[int], target: list[int]) -> Walk:
    logits, cache_ = model.run_with_cache(source, target)
    return Walk({"steps": STEPS.dump_json(steps_from_cache(_layout(model), cache_, gpt.rounded))}, logits[-1])


def forward(model: LoadedSeq2Seq, request: schemas.ForwardRequest, walks: Walks) -> bytes:
    source, target = _ids(model, request.input, request.target)
    text.check_top_k(model, request.top_k, model.target_tokenizer)
    return text.respond(
        walks, (model.id, tuple(source), tuple(target)), lambda: walk(model, source, target), request,
        model.target_tokenizer.vocab, target, (model.bos_id,),  # the start token only ever starts: never next
        model=model.id, input=request.input, tokens=model.tokenizer.decode(source), ids=source,
        target_tokens=model.target_tokenizer.decode(target),
    )  # fmt: skip


def generate(model: LoadedSeq2Seq, request: schemas.GenerateRequest) -> schemas.GenerateResult:
    """Translate one word at a time; each step carries the cross-attention row it was made with."""
    source, start = _ids(model, request.prompt, None, "prompt")
    text.check_top_k(model, request.top_k, model.target_tokenizer)
    seed = request.seed if request.seed is not None else secrets.randbelow(2**31)
    room = model.module.config.n_ctx - 1
    result = run_generation(
        model.next_logits_for(source), start, eos_id=model.eos_id, max_new_tokens=min(request.max_new_tokens, room),
        seed=seed, temperature=request.temperature, top_k=request.top_k, top_p=request.top_p,
        repetition_penalty=request.repetition_penalty, exclude=(model.bos_id,),
    )  # fmt: skip
    # Step j was produced at decoder position j; the decoder is causal, so one pass over them gives every row.
    _, cache = model.run_with_cache(source, [*start, *result.ids][: len(result.steps)])
    last = model.module.config.n_layers - 1
    rows = cache[f"decoder.blocks.{last}.cross_attn.hook_pattern"].mean(0)  # [steps, source_pos]
    vocab = model.target_tokenizer.vocab
    words = [vocab[i] for i in result.ids if i != model.eos_id]
    return schemas.GenerateResult(
        model=model.id,
        prompt_tokens=model.tokenizer.decode(source),
        text=" ".join(words),
        steps=[
            schemas.GeneratedToken(
                token=vocab[s.id],
                id=s.id,
                prob=s.prob,
                top=[(vocab[i], p) for i, p in s.top],
                cross=[round(float(v), gpt.DECIMALS) for v in row],
            )
            for s, row in zip(result.steps, rows, strict=True)
        ],
        stop_reason=result.stop_reason,
        loop=None if result.loop is None else (vocab[result.loop[0]], vocab[result.loop[1]]),
        seed=seed,
    )


def detail_fields(model: LoadedSeq2Seq) -> dict[str, object]:
    return {"vocab": model.tokenizer.vocab, "target_vocab": model.target_tokenizer.vocab}
