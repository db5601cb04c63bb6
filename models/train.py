"""`python -m models.train ID|--all [--out DIR]`: train shipped models reproducibly, writing weights and records.
`python -m models.train char-gpt --corpus FILE --name ID [--size small|medium]`: a character GPT on your own text.

Writes DIR/ID.safetensors (the state dict) and DIR/ID.json (config, seed, data, optimizer, epochs, loss curve,
metrics, time). The default DIR is models/weights, where the app finds them (at its next start).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from models.data.chartext import CorpusError
from models.registry import WEIGHTS_DIR
from models.training import recipes
from models.training.gpt import SIZES, char_recipe
from models.training.loop import train
from models.training.recipe import Recipe

CHAR_GPT = "char-gpt"  # not a model: the recipe for a character GPT on the text file --corpus names


def main(argv: list[str] | None = None) -> int:
    known = recipes()
    parser = argparse.ArgumentParser(prog="python -m models.train", description=__doc__.splitlines()[0])
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("id", nargs="?", choices=[*known, CHAR_GPT], help="the model to train, or char-gpt")
    which.add_argument("--all", action="store_true", help="train every model that has a recipe, one after another")
    parser.add_argument("--out", type=Path, default=WEIGHTS_DIR, help="where to write ID.safetensors and ID.json")
    own = parser.add_argument_group("char-gpt: a character GPT on your own text")
    own.add_argument("--corpus", type=Path, help="a UTF-8 text file (its last 10%% is held out)")
    own.add_argument("--name", help="the new model's id: lower-case letters, digits and hyphens")
    own.add_argument("--size", choices=list(SIZES), default="small", help="the model's shape (default: small)")
    own.add_argument("--steps", type=int, help="optimizer steps (default: the size's)")
    args = parser.parse_args(argv)
    if args.id == CHAR_GPT:
        chosen = [own_recipe(parser, args, known)]
    else:
        if args.corpus or args.name:
            parser.error(f"--corpus and --name are for char-gpt: python -m models.train {CHAR_GPT} --corpus FILE "
                         "--name ID")  # fmt: skip
        chosen = list(known.values()) if args.all else [known[args.id]]
    for recipe in chosen:
        record = train(recipe, args.out)
        print(json.dumps({"id": record.id, **record.metrics, "duration_s": record.duration_s}, indent=1))
    return 0


def own_recipe(parser: argparse.ArgumentParser, args: argparse.Namespace, known: dict[str, Recipe]) -> Recipe:
    """The char-gpt recipe the arguments ask for; a missing or bad one exits with a message that says the fix."""
    if args.corpus is None or args.name is None:
        parser.error(f"{CHAR_GPT} needs --corpus FILE (a UTF-8 text file) and --name ID (the new model's id)")
    if args.name in known or args.name == CHAR_GPT:
        parser.error(f"--name {args.name!r} is a shipped model's id; choose another, such as 'my-{args.name}'")
    if args.steps is not None and args.steps < 1:
        parser.error(f"--steps {args.steps}: train for at least 1 step")
    try:
        return char_recipe(args.corpus, args.name, args.size, args.steps)
    except CorpusError as error:
        parser.error(str(error))


if __name__ == "__main__":
    raise SystemExit(main())
