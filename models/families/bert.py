"""The BERT family: a pretrained encoder reading WordPiece pieces between [CLS] and [SEP], and what such a model is for:
a sentence's embedding (the last hidden state averaged over its tokens) and two sentences' cosine similarity."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Self

import torch

from models.bert import Bert, BertBlock, BertConfig
from models.explain import Captured, Unfoldings, Wiring
from models.families.base import LoadedModel, Weights, ready
from models.hf import read_bert
from models.hooks import run_with_cache
from models.tokenizers import Tokenizer, WordPieceTokenizer


@dataclass(frozen=True, eq=False)
class LoadedBert(LoadedModel[Bert]):
    """A BERT encoder with its WordPiece tokenizer. Its output is the last hidden state, one vector per piece."""

    family = "bert"
    model_types = ("bert",)
    tokenizer: Tokenizer

    @classmethod
    def load(cls, model_id: str, record: dict[str, Any], weights: Weights) -> Self:
        """A record holding the config and the WordPiece vocabulary ("vocab"), and our module's weights."""
        config = BertConfig(**record["config"])
        return cls(model_id, record, ready(Bert(config), weights), WordPieceTokenizer.from_vocab(record["vocab"]))

    @classmethod
    def load_folder(cls, model_id: str, record: dict[str, Any], folder: Path) -> Self:
        """A Hugging Face BERT folder (models/hf.py); the record gains the config read from it."""
        found = read_bert(folder)
        return cls(model_id, {**record, "config": found.module.config.to_dict()}, found.module, found.tokenizer)

    def ids(self, text: str) -> list[int]:
        """`text`'s WordPiece ids, [CLS] first and [SEP] last."""
        return self.tokenizer.encode(text)

    def run_with_cache(
        self, ids: list[int] | str, names: list[str] | None = None
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The last hidden state ([pos, d_model]) and every hook's value (or those `names`), without the batch axis.
        `ids` may be a text, tokenized here."""
        row = self.ids(ids) if isinstance(ids, str) else ids
        hidden, cache = run_with_cache(self.module, torch.tensor([row]), names=names)
        return hidden[0], {name: value[0] for name, value in cache.items()}

    def mean_pooled_batch(self, texts: list[str]) -> torch.Tensor:
        """[len(texts), d_model]: each text's last hidden state averaged over its own tokens ([CLS] and [SEP]
        included, as the model was trained). The texts run as one padded batch; padding is hidden from attention
        and left out of the average."""
        rows = [self.ids(text) for text in texts]
        longest = max(len(row) for row in rows)
        pad = self.module.config.pad_id
        ids = torch.tensor([row + [pad] * (longest - len(row)) for row in rows])  # [batch, pos]
        padding = torch.tensor([[p >= len(row) for p in range(longest)] for row in rows])  # [batch, pos]
        with torch.no_grad():
            hidden = self.module(ids, padding)  # [batch, pos, d_model]
        real = (~padding).unsqueeze(-1).to(hidden.dtype)  # [batch, pos, 1]
        pooled: torch.Tensor = (hidden * real).sum(1) / real.sum(1)  # [batch, d_model]
        return pooled

    def mean_pooled(self, text: str) -> torch.Tensor:
        """[d_model]: the sentence's embedding, its last hidden state averaged over its tokens."""
        hidden, _ = self.run_with_cache(text, names=[])
        return self.pool(hidden)

    @staticmethod
    def pool(hidden: torch.Tensor) -> torch.Tensor:
        """[d_model]: one sentence's last hidden state ([pos, d_model], no padding) averaged over its tokens."""
        return hidden.mean(0)

    @staticmethod
    def cosine(a: torch.Tensor, b: torch.Tensor) -> float:
        """a·b / (‖a‖ ‖b‖): near 1 for the same direction, near 0 for unrelated ones."""
        return float(torch.nn.functional.cosine_similarity(a, b, dim=0))

    def similarity(self, text: str, other: str) -> float:
        """The cosine of two sentences' mean-pooled embeddings: near 1 for the same meaning, near 0 for unrelated."""
        a, b = self.mean_pooled_batch([text, other])
        return self.cosine(a, b)

    @cached_property
    def _unfoldings(self) -> Unfoldings:
        module, wiring = self.module, Wiring(self.module, self.tokenizer.vocab)
        embed, pos, types = (self.name_of(p) for p in (module.hook_embed, module.hook_pos_embed,
                                                        module.hook_token_type_embed))  # fmt: skip
        wiring.embedding(embed, module.embed)
        wiring.embedding(pos, module.pos_embed, (), letter="P", what="position")
        wiring.embedding(types, module.token_type_embed, (), letter="T", what="token type")
        summed = self.name_of(module.hook_embed_sum)
        wiring.sum(summed, [embed, pos, types], "x = E[token] + P[pos] + T[token type]")
        x = wiring.layer_norm(module.ln_embed, summed)
        for i in range(module.config.n_layers):
            x = self._block(wiring, module.block(i), x)
        return wiring.done()

    @staticmethod
    def _block(wiring: Wiring, block: BertBlock, before: str) -> str:
        """Post-LN: the layer norms come after the adds, so both sublayers read a layer norm's output."""
        hook = wiring.hook
        pre = wiring.resid_pre(block.hook_resid_pre, [before])
        attn_out, mid = hook(block.hook_attn_out), hook(block.hook_resid_mid)
        wiring.attention(block.attn, pre, pre, attn_out)
        wiring.sum(mid, [pre, attn_out], "x + attention out, then normalized")
        normalized = wiring.layer_norm(block.ln1, mid)
        mlp_out, post = hook(block.hook_mlp_out), hook(block.hook_resid_post)
        wiring.feed_forward(block.mlp, normalized, mlp_out)
        wiring.sum(post, [normalized, mlp_out], "x + feed-forward out, then normalized")
        return wiring.layer_norm(block.ln2, post)

    def unfoldings(self) -> Unfoldings:
        return self._unfoldings

    def captured(self, ids: list[int], cache: dict[str, torch.Tensor]) -> Captured:
        """A pass over `ids` as its unfoldings read it: the token ids, each position, each token type (0)."""
        module = self.module
        inputs = {
            self.name_of(module.hook_embed): torch.tensor(ids),
            self.name_of(module.hook_pos_embed): torch.arange(len(ids)),
            self.name_of(module.hook_token_type_embed): torch.zeros(len(ids), dtype=torch.long),
        }
        return Captured(cache, inputs)
