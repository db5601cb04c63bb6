"""The translator in the API: the three attentions step by step, the alignment, the next target word, and
translation with what each word read.

Activations and the alignment go out rounded to 4 decimal places; masked scores are null; the next-word
distribution is unrounded.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Hashable
from typing import Any

import orjson
from pydantic import BaseModel, Field

from app import schemas
from app.errors import InputError
from app.passes import KeptPass, PassCache
from app.presenters import stages, text, whatif
from app.presenters.base import DECIMALS, Label, Presenter, answering, rounded
from app.presenters.labels import GELU, TRANSFORMER
from app.presenters.stages import Stage
from models.explain import Captured, NextToken
from models.families.seq2seq import LoadedSeq2Seq
from models.generation import generate as run_generation
from models.hooks import editing

# The shared captions say "earlier" and "masked": true of masked self-attention only.
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
    **TRANSFORMER,
    "ln_cross.hook_mean": ("Layer norm before cross-attention: mean μ", "μ = Σ x / d_model, per position"),
    "ln_cross.hook_std": (
        "Layer norm before cross-attention: standard deviation σ",
        "σ = √(Σ (x − μ)² / d_model + ε), per position",
    ),
    "ln_cross.hook_normalized": ("Layer norm before cross-attention", "(x − mean) / std · γ + β"),
    "hook_cross_out": ("Cross-attention output", "heads concatenated, then ·W_O + b_O"),
    "hook_resid_cross": ("Residual stream after cross-attention", "x + cross-attention output"),
}


class Attentions(BaseModel):
    """The hooks of the page's three attention plots; {layer} stands for the layer the page has chosen."""

    encoder: str = Field(description="Encoder self-attention pattern, [n_heads][source_pos][source_pos]")
    decoder: str = Field(description="Masked decoder self-attention scores, [n_heads][target_pos][target_pos]")
    cross: str = Field(description="Cross-attention pattern, [n_heads][target_pos][source_pos]")


ATTENTION_HOOKS = Attentions(
    encoder="encoder.blocks.{layer}.attn.hook_pattern",
    decoder="decoder.blocks.{layer}.attn.hook_scores",
    cross="decoder.blocks.{layer}.cross_attn.hook_pattern",
)


def walk(model: LoadedSeq2Seq) -> list[Stage]:
    """The encoder's stages, every block, then the decoder's, every block, each with its cross-attention reading the
    encoder's output; from the model's hook names. Rows of the decoder's values are the target positions."""
    names = model.hook_names()
    memory = "encoder.ln_final.hook_normalized"
    encoder_block = [
        *stages.attention("tokens", masked=False),
        stages.residual("residual", "{b}hook_resid_pre", "{b}hook_attn_out", "{b}hook_resid_mid", "tokens",
                        "attention out"),
        *stages.feed_forward("tokens", "{b}hook_resid_mid", "{b}hook_resid_post"),
    ]  # fmt: skip
    decoder_block = [
        *stages.attention("target", name="masked "),
        stages.residual("masked residual", "{b}hook_resid_pre", "{b}hook_attn_out", "{b}hook_resid_mid", "target",
                        "attention out"),
        *stages.attention("target", "tokens", name="cross ", attn="cross_attn", ln="ln_cross", masked=False,
                          before="{b}hook_resid_mid", out="{b}hook_cross_out", memory=memory),
        stages.residual("cross residual", "{b}hook_resid_mid", "{b}hook_cross_out", "{b}hook_resid_cross", "target",
                        "cross-attention out"),
        *stages.feed_forward("target", "{b}hook_resid_cross", "{b}hook_resid_post"),
    ]  # fmt: skip
    encoder, decoder = stages.blocks(names, "encoder."), stages.blocks(names, "decoder.")
    out = f"{encoder[-1]}hook_resid_post"
    french = [s.model_copy(update={"label": f"French {s.label}"}) for s in
              stages.embeddings("decoder.", decoder[0], "target", "decoder · input")]  # fmt: skip
    walk = [
        *stages.embeddings("encoder.", encoder[0], "tokens", "encoder · input"),
        *stages.stack(encoder_block, encoder, "encoder · block {i}"),
        stages.layer_norm("encoder output", out, "encoder.ln_final.", "tokens", "encoder · output"),
        *french,
        *stages.stack(decoder_block, decoder, "decoder · block {i}"),
        *stages.output("decoder.", decoder[-1], "target", "decoder · output", "French word"),
    ]
    return stages.checked(walk, names)


class Seq2SeqDetail(text.TextDetail):
    target_vocab: list[str] = Field(description="The target vocabulary, in id order; <s> and </s> first")
    attentions: Attentions
    stages: list[Stage] = Field(description="The page's walk: the encoder's blocks, then the decoder's; each stage's "
                                "inputs, operation and result")  # fmt: skip
    limits: text.TextLimits = Field(description="max_tokens is the source's; a target prefix holds one fewer")


class Seq2SeqForward(schemas.ForwardResult):
    tokens: list[str] = Field(description="The source's tokens")
    ids: list[int] = Field(description="The source tokens' ids")
    target_tokens: list[str] = Field(description="The decoder's input, <s> first")
    output: text.TextOutput
    alignment: list[list[list[float]]] = Field(
        description="[layer][target_pos][source_pos]: each layer's cross-attention averaged over its heads"
    )


class TranslatedToken(schemas.GeneratedToken):
    cross: list[float] = Field(description="The last decoder layer's cross-attention row, averaged over heads")


class ChangedTranslation(schemas.ChangedGeneration):
    steps: list[TranslatedToken]  # type: ignore[assignment]


class Translation(schemas.GenerateResult):
    steps: list[TranslatedToken]  # type: ignore[assignment]
    what_if: ChangedTranslation | None = None


class Seq2SeqPresenter(Presenter[LoadedSeq2Seq]):
    family = "seq2seq"
    loaded = LoadedSeq2Seq
    detail_schema = Seq2SeqDetail
    forward_schema = Seq2SeqForward
    generate_schema = Translation

    def label(self, model: LoadedSeq2Seq, name: str) -> Label:
        side, _, rest = name.partition(".")
        if not rest.startswith("blocks."):
            if side == "encoder" and rest == "ln_final.hook_normalized":
                return Label("Encoder output", "the final layer norm: what every cross-attention reads")
            if side == "encoder" and rest.startswith("ln_final."):
                title, formula = TITLES[rest]
                return Label(f"Encoder · {title.replace('Final layer norm', 'Output layer norm')}", formula)
            title, formula = TITLES[rest]
            return Label(f"{side.title()} · {title}", formula)
        _, index, hook = rest.split(".", 2)
        module, _, leaf = hook.partition(".")
        if (side, module) in ATTENTIONS:
            title, formula = TITLES[f"attn.{leaf}"]
            formula = FORMULAS.get((side, module, leaf), formula)
            return Label(f"{side.title()} block {index} · {ATTENTIONS[side, module]} · {title}", formula)
        title, formula = TITLES[hook]
        return Label(f"{side.title()} block {index} · {title}", formula, activation="GELU" if hook == GELU else None)

    def stages(self, model: LoadedSeq2Seq) -> list[Stage]:
        return walk(model)

    def detail_fields(self, model: LoadedSeq2Seq) -> dict[str, object]:
        target_vocab = model.target_tokenizer.vocab
        return {
            "vocab": model.tokenizer.vocab,
            "target_vocab": target_vocab,
            "attentions": ATTENTION_HOOKS,
            "stages": self.walk(model),
            "limits": text.limits(len(target_vocab), model.module.config.n_ctx, room=model.module.config.n_ctx - 1),
        }

    def ids(
        self, model: LoadedSeq2Seq, source: float | str, target: str | None, field: str = "input"
    ) -> tuple[list[int], list[int]]:
        """The source's ids and the decoder's input (the start token, then the target prefix); `field` names the
        source in messages (`prompt` on generate)."""
        n_ctx = model.module.config.n_ctx
        src = text.parse_text(model.id, model.tokenizer, source, field)
        prefix: list[int] = []
        if target is not None and any(token in target for token in ("<s>", "</s>")):
            raise InputError(
                "target", "it holds <s> or </s>", "The server adds the start and end tokens; leave them out."
            )
        if target is not None and target.strip():
            prefix = text.parse_text(model.id, model.target_tokenizer, target, "target", listing="target_vocab")
        if len(src) > n_ctx:
            raise InputError(field, f"the text is {len(src)} tokens long", f"The encoder holds {n_ctx}; send fewer.")
        if len(prefix) + 1 > n_ctx:
            raise InputError("target", f"the prefix is {len(prefix)} tokens long", f"Send at most {n_ctx - 1}.")
        return src, [model.bos_id, *prefix]

    def capture(self, model: LoadedSeq2Seq, source: list[int], target: list[int]) -> KeptPass:
        logits, cache = model.run_with_cache(source, target)
        alignment = orjson.dumps(rounded(model.alignment(cache)))
        return KeptPass({"alignment": alignment}, logits[-1], cache)

    def forward(self, model: LoadedSeq2Seq, request: schemas.ForwardRequest, passes: PassCache) -> bytes:
        source, target = self.ids(model, request.input, request.target)
        target_vocab = model.target_tokenizer.vocab
        text.check_top_k(request.top_k, len(target_vocab))
        fields = {
            **answering(model),
            "input": request.input, "tokens": model.tokenizer.decode(source), "ids": source,
            "target_tokens": model.target_tokenizer.decode(target),
        }  # fmt: skip
        key = (model.key, tuple(source), tuple(target))

        def capture() -> KeptPass:
            return self.capture(model, source, target)

        def other(value: float | str, field: str) -> tuple[Hashable, Callable[[], KeptPass]]:
            """A patch's second input: another source sentence, read with the same target prefix."""
            theirs, _ = self.ids(model, value, None, field)
            return (model.key, tuple(theirs), tuple(target)), lambda: self.capture(model, theirs, target)

        return text.respond(
            passes, schema=Seq2SeqForward, key=key, capture=capture, request=request, vocab=target_vocab,
            previous=target, exclude=(model.bos_id,),  # the start token only ever starts: never next
            fields=fields, selected=self.selected(model, request, rounded),
            changed=whatif.changed_pass(model.module, request, passes, key, capture, other),
        )  # fmt: skip

    def captured(
        self, model: LoadedSeq2Seq, request: schemas.ExplainRequest, passes: PassCache
    ) -> tuple[Captured, NextToken]:
        source, target = self.ids(model, request.input, request.target)
        text.check_top_k(request.top_k, len(model.target_tokenizer.vocab))
        key = (model.key, tuple(source), tuple(target))  # the key /forward keeps the pass by
        kept = passes.get(key, lambda: self.capture(model, source, target))
        settings = text.next_token(request, target, (model.bos_id,))
        return model.captured(source, target, dict(kept.cache), kept.logits), settings

    def generate(self, model: LoadedSeq2Seq, request: schemas.GenerateRequest) -> Translation:
        """Translate one word at a time; each step carries the cross-attention row it was made with."""
        source, start = self.ids(model, request.prompt, None, "prompt")
        vocab = model.target_tokenizer.vocab
        text.check_top_k(request.top_k, len(vocab))
        seed = request.seed if request.seed is not None else secrets.randbelow(2**31)
        room = model.module.config.n_ctx - 1
        key, capture = (model.key, tuple(source), tuple(start)), lambda: self.capture(model, source, start)
        changed = whatif.changed_pass(model.module, request, PassCache(0), key, capture)  # checked on the first pass

        def translated() -> dict[str, Any]:
            result = run_generation(
                model.next_logits_for(source), start, eos_id=model.eos_id,
                max_new_tokens=min(request.max_new_tokens, room), seed=seed, temperature=request.temperature,
                top_k=request.top_k, top_p=request.top_p, repetition_penalty=request.repetition_penalty,
                exclude=(model.bos_id,),
            )  # fmt: skip
            # Step j was produced at decoder position j: its reading is row j of one pass over the translation.
            rows = model.reading(source, [*start, *result.ids][: len(result.steps)])  # [steps, source_pos]
            words = [i for i in result.ids if i != model.eos_id]
            return {
                "text": model.target_tokenizer.text(words),
                "steps": [
                    TranslatedToken(
                        token=vocab[s.id],
                        id=s.id,
                        prob=s.prob,
                        top=[(vocab[i], p) for i, p in s.top],
                        cross=[round(float(v), DECIMALS) for v in row],
                    )
                    for s, row in zip(result.steps, rows, strict=True)
                ],
                "stop_reason": result.stop_reason,
                "loop": None if result.loop is None else (vocab[result.loop[0]], vocab[result.loop[1]]),
            }

        unchanged = translated()
        what_if = None
        if changed is not None:  # the same seed, with the changes made to every pass
            with editing(model.module, changed.edits):
                what_if = ChangedTranslation(interventions=request.interventions, **translated())
        return Translation(
            **answering(model),
            prompt_tokens=model.tokenizer.decode(source),
            **unchanged,
            seed=seed,
            what_if=what_if,
        )


PRESENTER = Seq2SeqPresenter()
