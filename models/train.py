"""`python -m models.train ID|--all [--out DIR]`: train shipped models reproducibly, writing weights and records.

Writes DIR/ID.safetensors (the state dict) and DIR/ID.json (config, seed, data, optimizer, epochs, loss curve,
metrics, time). The default DIR is models/weights, where the app finds them.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from models.registry import WEIGHTS_DIR
from models.training import recipes
from models.training.loop import train


def main(argv: list[str] | None = None) -> int:
    known = recipes()
    parser = argparse.ArgumentParser(prog="python -m models.train", description=__doc__.splitlines()[0])
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("id", nargs="?", choices=list(known), help="the model to train")
    which.add_argument("--all", action="store_true", help="train every model that has a recipe, one after another")
    parser.add_argument("--out", type=Path, default=WEIGHTS_DIR, help="where to write ID.safetensors and ID.json")
    args = parser.parse_args(argv)
    for model_id in known if args.all else [args.id]:
        record = train(known[model_id], args.out)
        print(json.dumps({"id": record.id, **record.metrics, "duration_s": record.duration_s}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
