"""Reads a Hugging Face folder (`config.json`, `model.safetensors`, `tokenizer.json`) into our own modules.

Weights are read from safetensors only: a folder whose weights are a pickle (`pytorch_model.bin`, `.pt`, `.ckpt`) is
refused, and the pickle is never opened (unpickling can run any code). Every problem is a `FolderError` whose message
names the folder, the problem and the fix.

BERT (`model_type` "bert"): Hugging Face's names map onto models/bert.py's one to one; the pooler and any task head
(`pooler.*`, `cls.*`) are not part of the encoder and are left out.

GPT-2 (`model_type` "gpt2") into models/gpt.py: learned positions (wpe), GELU's tanh approximation, the layer norms'
ε, and the unembedding tied to wte. GPT-2's projections are `Conv1D`s, whose weight is [in, out] (an nn.Linear's is
[out, in]): each is transposed, and c_attn's [d, 3d] is split into W_Q, W_K and W_V.
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
from models.gpt import GPT, GPTConfig
from models.tokenizers import FileTokenizer, WordPieceTokenizer

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


def model_type(folder: Path) -> str:
    """config.json's model_type: which architecture the folder holds ("gpt2", "bert", …)."""
    kind = _read_config(folder).get("model_type")
    if not isinstance(kind, str):
        raise FolderError(folder, "config.json names no model_type", "save the model with save_pretrained")
    return kind


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


# --- GPT-2 ----------------------------------------------------------------------------------------------------------

GELUS = {"gelu_new": "tanh", "gelu_pytorch_tanh": "tanh", "gelu": "none"}  # activation_function → torch's approximate


def _refuse_unless(folder: Path, config: dict[str, Any], key: str, wanted: object, why: str) -> None:
    if key in config and config[key] != wanted:
        raise FolderError(
            folder,
            f"config.json's {key} is {config[key]!r}; only {wanted!r} is supported ({why})",
            "use a GPT-2 model with the original architecture",
        )


def gpt2_config(folder: Path, config: dict[str, Any], vocab: tuple[str, ...], eos: str) -> GPTConfig:
    """Our GPTConfig from Hugging Face's config.json (and the tokenizer's tokens), refusing what models/gpt.py does
    not compute."""
    activation = config.get("activation_function", "gelu_new")
    if activation not in GELUS:
        raise FolderError(
            folder,
            f"config.json's activation_function is {activation!r}; only {', '.join(map(repr, GELUS))} are supported",
            "use a GPT-2 model with a GELU feed-forward layer",
        )
    _refuse_unless(folder, config, "scale_attn_weights", True, "scores are divided by √d_head")
    _refuse_unless(folder, config, "scale_attn_by_inverse_layer_idx", False, "every layer scales its scores alike")
    _refuse_unless(folder, config, "add_cross_attention", False, "a GPT reads only its own tokens")
    d_model, n_heads = int(config["n_embd"]), int(config["n_head"])
    if d_model % n_heads:
        raise FolderError(folder, f"n_embd {d_model} is not a multiple of {n_heads} heads", "fix config.json")
    inner = config.get("n_inner")
    return GPTConfig(
        vocab=vocab,
        eos=eos,
        n_ctx=int(config["n_positions"]),
        d_model=d_model,
        n_heads=n_heads,
        n_layers=int(config["n_layer"]),
        d_mlp=4 * d_model if inner is None else int(inner),
        positions="learned",
        gelu="tanh" if GELUS[activation] == "tanh" else "none",
        eps=float(config.get("layer_norm_epsilon", 1e-5)),
        tied=bool(config.get("tie_word_embeddings", True)),
        unembed_bias=False,
    )


def _transposed(tensor: torch.Tensor) -> torch.Tensor:
    return tensor.t().contiguous()


def gpt2_weights(folder: Path, theirs: dict[str, torch.Tensor], module: GPT) -> dict[str, torch.Tensor]:
    """Hugging Face's GPT-2 tensors under our names (Conv1D weights transposed, c_attn split in three), each checked
    against the shape `module` expects, named by Hugging Face's name when it does not fit."""
    config, expected = module.config, module.state_dict()
    d = config.d_model
    tensors = {name.removeprefix("transformer."): t.to(torch.float32) for name, t in theirs.items()}
    full = {name.removeprefix("transformer."): name for name in theirs}  # to name a tensor as the file does
    ours: dict[str, torch.Tensor] = {}

    def take(name: str, shape: tuple[int, ...]) -> torch.Tensor:
        tensor = tensors.pop(name, None)
        if tensor is None:
            raise FolderError(folder, f"{WEIGHTS} lacks {name}", "save the whole model")
        if tuple(tensor.shape) != shape:
            raise FolderError(
                folder,
                f"{full[name]} has shape {list(tensor.shape)}, but config.json makes it {list(shape)}",
                "make config.json and model.safetensors come from the same model",
            )
        return tensor

    ours["embed.weight"] = take("wte.weight", (len(config.vocab), d))
    ours["pos_embed.weight"] = take("wpe.weight", (config.n_ctx, d))
    for i in range(config.n_layers):
        h, b = f"h.{i}.", f"blocks.{i}."
        for theirs_ln, ours_ln in (("ln_1", "ln1"), ("ln_2", "ln2")):
            ours[f"{b}{ours_ln}.ln.weight"] = take(f"{h}{theirs_ln}.weight", (d,))
            ours[f"{b}{ours_ln}.ln.bias"] = take(f"{h}{theirs_ln}.bias", (d,))
        qkv_w, qkv_b = take(f"{h}attn.c_attn.weight", (d, 3 * d)), take(f"{h}attn.c_attn.bias", (3 * d,))
        for part, W in enumerate(("W_Q", "W_K", "W_V")):
            ours[f"{b}attn.{W}.weight"] = _transposed(qkv_w[:, part * d : (part + 1) * d])
            ours[f"{b}attn.{W}.bias"] = qkv_b[part * d : (part + 1) * d].contiguous()
        for theirs_lin, ours_lin, d_in, d_out in (
            ("attn.c_proj", "attn.W_O", d, d),
            ("mlp.c_fc", "mlp.W_in", d, config.d_mlp),
            ("mlp.c_proj", "mlp.W_out", config.d_mlp, d),
        ):
            ours[f"{b}{ours_lin}.weight"] = _transposed(take(f"{h}{theirs_lin}.weight", (d_in, d_out)))
            ours[f"{b}{ours_lin}.bias"] = take(f"{h}{theirs_lin}.bias", (d_out,))
        for buffer in ("attn.bias", "attn.masked_bias"):  # the causal mask, saved by older versions: not weights
            tensors.pop(f"{h}{buffer}", None)
    ours["ln_final.ln.weight"] = take("ln_f.weight", (d,))
    ours["ln_final.ln.bias"] = take("ln_f.bias", (d,))
    if config.tied:
        tensors.pop("lm_head.weight", None)  # a copy of wte when saved at all
        ours["unembed.weight"] = ours["embed.weight"]
    else:
        ours["unembed.weight"] = take("lm_head.weight", (len(config.vocab), d))
    if tensors:
        extra = sorted(full[name] for name in tensors)
        raise FolderError(
            folder,
            f"{WEIGHTS} holds {', '.join(extra[:4])}, which a GPT-2 of config.json's {config.n_layers} layers does not "
            "have",
            "use a plain GPT2LMHeadModel's weights with the config.json saved beside them",
        )
    assert set(ours) == set(expected), set(ours) ^ set(expected)
    return ours


@dataclass(frozen=True)
class GPT2Folder:
    """A GPT-2 folder, read: our module with its weights (in evaluation mode), and its tokenizer."""

    folder: Path
    module: GPT
    tokenizer: FileTokenizer


def read_gpt2(folder: Path) -> GPT2Folder:
    """A Hugging Face GPT-2 folder as our module and tokenizer; a FolderError says what is wrong and how to fix it."""
    if not folder.is_dir():
        raise FolderError(folder, "there is no such folder", "point at a folder holding config.json")
    config = _read_config(folder)
    kind = config.get("model_type")
    if kind != "gpt2":
        raise FolderError(
            folder, f"config.json's model_type is {kind!r}, not 'gpt2'", "point at a GPT-2-architecture folder"
        )
    weights_path = _file(folder, WEIGHTS, CONVERT)
    tokenizer_path = _file(
        folder, TOKENIZER, "save the tokenizer with a fast tokenizer's save_pretrained, which writes tokenizer.json"
    )
    vocab_size = int(config["vocab_size"])
    tokenizer = FileTokenizer.from_file(tokenizer_path, vocab_size)
    if len(tokenizer.vocab) > vocab_size:
        raise FolderError(
            folder,
            f"tokenizer.json has {len(tokenizer.vocab)} tokens, more than config.json's vocab_size {vocab_size}",
            "use the tokenizer the model was trained with",
        )
    eos_id = config.get("eos_token_id")
    if not isinstance(eos_id, int) or not 0 <= eos_id < vocab_size:
        raise FolderError(
            folder, f"config.json's eos_token_id is {eos_id!r}, not a token id", "set it to the end-of-text token's id"
        )
    module = GPT(gpt2_config(folder, config, tuple(tokenizer.vocab), tokenizer.vocab[eos_id]))
    module.load_state_dict(gpt2_weights(folder, load_file(str(weights_path)), module), strict=True)
    module.eval()
    return GPT2Folder(folder, module, tokenizer)
