"""A pickle that would leave a mark if anything unpickled it: the folder readers must refuse it unopened."""

from __future__ import annotations

import pickle
from pathlib import Path


class Trap:
    """Unpickling this would create `marker`."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return open, (str(self.marker), "w")


def pickled_weights(folder: Path) -> Path:
    """Replace `folder`'s model.safetensors by a trapped pytorch_model.bin; returns the mark unpickling would leave."""
    (folder / "model.safetensors").unlink()
    marker = folder / "unpickled"
    (folder / "pytorch_model.bin").write_bytes(pickle.dumps(Trap(marker)))
    return marker
