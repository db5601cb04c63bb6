"""Reads a Hugging Face folder (`config.json`, `model.safetensors`, `tokenizer.json`) into our own modules.

Weights are read from safetensors only: a folder whose weights are a pickle (`pytorch_model.bin`, `.pt`, `.ckpt`) is
refused, and the pickle is never opened (unpickling can run any code). Every problem is a `FolderError` whose message
names the folder, the problem and the fix.

BERT (`model_type` "bert"): Hugging Face's names map onto models/bert.py's one to one; the pooler and any task head
(`pooler.*`, `cls.*`) are not part of the encoder and are left out.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file

from models.bert import Bert, BertConfig
from models.tokenizers import WordPieceTokenizer

WEIGHTS, CONFIG, TOKENIZER = "model.safetensors", "config.json", "tokenizer.json"
PICKLES = ("*.bin", "*.pt", "*.pth", "*.ckpt", "*.pkl")
CONVERT = (
    "convert it once with transformers: AutoModel.from_pretrained(folder).save_pretrained(folder, "
    "safe_serialization=True), which writes model.safetensors"
)


class FolderError(ValueError):
    """A folder that cannot be served: the message names the folder, the problem and the fix."""

    def __init__(self, folder: Path, problem: str, fix: str) -> None:
        super().__init__(f"{folder}: {problem}. Fix: {fix}.")
        self.folder, self.problem, self.fix = folder, problem, fix


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def check_sha256(folder: Path, expected: str) -> None:
    """`model.safetensors` is the file it claims to be."""
    found = sha256_of(folder / WEIGHTS)
    if found != expected:
        raise FolderError(
            folder,
            f"{WEIGHTS} has sha256 {found}, not the expected {expected} (the file is damaged or another model's)",
            "reinstall the package or folder the weights came from",
        )


def _file(folder: Path, name: str, fix: str) -> Path:
    path = folder / name
    if path.is_file():
        return path
    if name == WEIGHTS:
        pickles = sorted(p.name for pattern in PICKLES for p in folder.glob(pattern))
        if pickles:
            raise FolderError(
                folder,
                f"the weights are only a pickle ({', '.join(pickles)}), which layerwalk never unpickles "
                "(unpickling can run any code)",
                CONVERT,
            )
    raise FolderError(folder, f"{name} is missing", fix)


def _read_config(folder: Path) -> dict[str, Any]:
    path = _file(folder, CONFIG, "save the model with save_pretrained, which writes config.json")
    try:
        config: dict[str, Any] = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise FolderError(folder, f"{CONFIG} is not JSON ({error})", "save config.json again") from error
    return config


def bert_config(folder: Path, config: dict[str, Any]) -> BertConfig:
    """Our BertConfig from Hugging Face's config.json, refusing what models/bert.py does not compute."""
    kind = config.get("model_type")
    if kind != "bert":
        raise FolderError(
            folder, f"config.json's model_type is {kind!r}, not 'bert'", "point at a BERT-architecture folder"
        )
    checks = {
        "hidden_act": ("gelu", "exact (erf) GELU is the feed-forward's activation"),
        "position_embedding_type": ("absolute", "positions are a learned table"),
    }
    for key, (wanted, why) in checks.items():
        if config.get(key, wanted) != wanted:
            raise FolderError(
                folder,
                f"config.json's {key} is {config[key]!r}; only {wanted!r} is supported ({why})",
                "use a BERT model with the original architecture",
            )
    d_model, n_heads = int(config["hidden_size"]), int(config["num_attention_heads"])
    if d_model % n_heads:
        raise FolderError(folder, f"hidden_size {d_model} is not a multiple of {n_heads} heads", "fix config.json")
    return BertConfig(
        vocab_size=int(config["vocab_size"]),
        n_ctx=int(config["max_position_embeddings"]),
        n_types=int(config.get("type_vocab_size", 2)),
        d_model=d_model,
        n_heads=n_heads,
        n_layers=int(config["num_hidden_layers"]),
        d_mlp=int(config["intermediate_size"]),
        eps=float(config.get("layer_norm_eps", 1e-12)),
        pad_id=int(config.get("pad_token_id") or 0),
    )


# Hugging Face's name (after an optional "bert." prefix) → ours; N is a layer's number.
BERT_NAMES = {
    "embeddings.word_embeddings.weight": "embed.weight",
    "embeddings.position_embeddings.weight": "pos_embed.weight",
    "embeddings.token_type_embeddings.weight": "token_type_embed.weight",
    "embeddings.LayerNorm.weight": "ln_embed.ln.weight",
    "embeddings.LayerNorm.bias": "ln_embed.ln.bias",
    **{
        f"encoder.layer.N.{theirs}.{p}": f"blocks.N.{ours}.{p}"
        for theirs, ours in (
            ("attention.self.query", "attn.W_Q"),
            ("attention.self.key", "attn.W_K"),
            ("attention.self.value", "attn.W_V"),
            ("attention.output.dense", "attn.W_O"),
            ("attention.output.LayerNorm", "ln1.ln"),
            ("intermediate.dense", "mlp.W_in"),
            ("output.dense", "mlp.W_out"),
            ("output.LayerNorm", "ln2.ln"),
        )
        for p in ("weight", "bias")
    },
}
LEFT_OUT = ("pooler.", "cls.", "embeddings.position_ids")  # not the encoder's: the pooler, task heads, a buffer
LAYER = re.compile(r"^encoder\.layer\.(\d+)\.")


def bert_weights(folder: Path, theirs: dict[str, torch.Tensor], module: Bert) -> dict[str, torch.Tensor]:
    """Hugging Face's tensors under our names, each checked against the shape `module` expects."""
    expected = module.state_dict()
    ours: dict[str, torch.Tensor] = {}
    for name, tensor in theirs.items():
        short = name.removeprefix("bert.")
        if short.startswith(LEFT_OUT):
            continue
        layer = LAYER.match(short)
        pattern = LAYER.sub("encoder.layer.N.", short) if layer else short
        target = BERT_NAMES.get(pattern)
        if target is None:
            raise FolderError(
                folder, f"{WEIGHTS} holds {name}, which a BERT encoder does not have", "use a plain BertModel's weights"
            )
        target = target.replace(".N.", f".{layer.group(1)}.") if layer else target
        if target not in expected:
            raise FolderError(folder, f"{WEIGHTS} holds {name}, beyond config.json's layers", "fix config.json")
        if tuple(tensor.shape) != tuple(expected[target].shape):
            raise FolderError(
                folder,
                f"{name} has shape {list(tensor.shape)}, but config.json makes {target} {list(expected[target].shape)}",
                "make config.json and model.safetensors come from the same model",
            )
        ours[target] = tensor.to(torch.float32)
    missing = [name for name in expected if name not in ours]
    if missing:
        theirs_of = {v: k for k, v in BERT_NAMES.items()}

        def their_name(ours: str) -> str:
            layer = re.match(r"^blocks\.(\d+)\.", ours)
            if layer is None:
                return theirs_of[ours]
            return theirs_of[ours.replace(f".{layer.group(1)}.", ".N.", 1)].replace(".N.", f".{layer.group(1)}.")

        named = [their_name(m) for m in missing]
        raise FolderError(folder, f"{WEIGHTS} lacks {', '.join(named[:4])}", "save the whole model")
    return ours


@dataclass(frozen=True)
class BertFolder:
    """A BERT folder, read: our module with its weights (in evaluation mode), and its tokenizer."""

    folder: Path
    module: Bert
    tokenizer: WordPieceTokenizer


def read_bert(folder: Path) -> BertFolder:
    """A Hugging Face BERT folder as our module and tokenizer; a FolderError says what is wrong and how to fix it."""
    if not folder.is_dir():
        raise FolderError(folder, "there is no such folder", "point at a folder holding config.json")
    config = bert_config(folder, _read_config(folder))
    weights_path = _file(folder, WEIGHTS, CONVERT)
    tokenizer_path = _file(
        folder, TOKENIZER, "save the tokenizer with a fast tokenizer's save_pretrained, which writes tokenizer.json"
    )
    module = Bert(config)
    module.load_state_dict(bert_weights(folder, load_file(str(weights_path)), module), strict=True)
    module.eval()
    tokenizer = WordPieceTokenizer.from_file(tokenizer_path)
    if len(tokenizer.vocab) > config.vocab_size:
        raise FolderError(
            folder,
            f"tokenizer.json has {len(tokenizer.vocab)} tokens, more than config.json's vocab_size {config.vocab_size}",
            "use the tokenizer the model was trained with",
        )
    return BertFolder(folder, module, tokenizer)
