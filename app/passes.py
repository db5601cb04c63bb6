"""The pass cache: forward passes already made, kept so that moving a sampling slider does not run the model again.

A forward result has a heavy part that depends only on what the model reads (every activation, the logit lens)
and a light part that depends on the sampling settings (the next-token distribution). The heavy part is
serialised once and kept here, keyed by the model and its input, in a least-recently-used store bounded in bytes
(`LAYERWALK_CACHE_BYTES`). A request with the same input serialises only its light part and splices the kept JSON
in. The numbers are still the model's own: a pass is deterministic (eval mode, no dropout, one thread), so the
kept pass is the one the request would have computed.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field

import orjson
import torch
from pydantic import BaseModel


@dataclass(frozen=True)
class KeptPass:
    """One input's pass: serialised fields of the result (`steps`, `lens`…), the logits the light part needs, and
    the captured values themselves, which an unfolding (POST …/explain) reads without running the model again."""

    parts: dict[str, bytes]
    logits: torch.Tensor  # [vocab] after the last position: what the distribution is made from (never changed)
    cache: Mapping[str, torch.Tensor] = field(default_factory=dict)  # every hook's value, without the batch axis

    @property
    def nbytes(self) -> int:
        values = sum(value.nbytes for value in self.cache.values())
        return sum(len(part) for part in self.parts.values()) + self.logits.nbytes + values


def spliced(result: BaseModel, parts: dict[str, bytes]) -> bytes:
    """`result` as JSON, with each field named in `parts` replaced by that kept JSON, in its place."""
    data = result.model_dump(mode="json")
    for name, raw in parts.items():
        data[name] = orjson.Fragment(raw)
    body: bytes = orjson.dumps(data)
    return body


@dataclass
class PassCache:
    """A least-recently-used store of passes, holding at most `max_bytes` of them."""

    max_bytes: int
    _kept: OrderedDict[Hashable, KeptPass | bytes] = field(default_factory=OrderedDict)
    nbytes: int = 0
    hits: int = 0
    misses: int = 0

    def get(self, key: Hashable, make: Callable[[], KeptPass]) -> KeptPass:
        kept = self._get(key, make)
        assert isinstance(kept, KeptPass)
        return kept

    def body(self, key: Hashable, make: Callable[[], bytes]) -> bytes:
        """A whole response body, for results with no light part (an MLP's depends on x alone)."""
        kept = self._get(key, make)
        assert isinstance(kept, bytes)
        return kept

    def part(self, key: Hashable, make: Callable[[], bytes]) -> bytes:
        """A serialised piece of a kept pass (one step's JSON), kept beside it; not counted as a hit or a miss,
        which count passes and answers."""
        kept = self._get(key, make, counted=False)
        assert isinstance(kept, bytes)
        return kept

    def _get(self, key: Hashable, make: Callable[[], KeptPass | bytes], counted: bool = True) -> KeptPass | bytes:
        kept = self._kept.get(key)
        if kept is not None:
            self.hits += counted
            self._kept.move_to_end(key)
            return kept
        self.misses += counted
        kept = make()
        size = _size(kept)
        if size <= self.max_bytes:
            self._kept[key] = kept
            self.nbytes += size
            while self.nbytes > self.max_bytes:
                _, dropped = self._kept.popitem(last=False)
                self.nbytes -= _size(dropped)
        return kept

    def __len__(self) -> int:
        return len(self._kept)


def _size(kept: KeptPass | bytes) -> int:
    return len(kept) if isinstance(kept, bytes) else kept.nbytes
