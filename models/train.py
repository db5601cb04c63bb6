"""`python -m models.train ID [--out DIR]`: train one shipped model reproducibly and write its weights and record.

Writes DIR/ID.safetensors (the state dict) and DIR/ID.json (config, seed, data, optimizer, epochs, loss curve,
metrics, time). The default DIR is models/weights, where the app finds them.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from models import records
from models.data import sqrt
from models.mlp import MLP, MLPConfig
from models.piecewise import breakpoints, linear_regions, within
from models.train_gpt import GPT_RECIPES, train_gpt
from models.train_seq2seq import SEQ2SEQ_RECIPES, train_seq2seq
from models.train_textnet import TEXTNET_RECIPES, train_textnet

WEIGHTS_DIR = Path(__file__).parent / "weights"


@dataclass(frozen=True)
class MLPRecipe:
    """How one sqrt MLP is trained: full-batch Adam on MSE with a cosine learning-rate decay."""

    id: str
    title: str
    description: str
    config: MLPConfig
    seed: int
    n_samples: int
    lr: float
    epochs: int


MLP_RECIPES: dict[str, MLPRecipe] = {
    r.id: r
    for r in [
        MLPRecipe(
            id="sqrt-mlp-2x2",
            title="sqrt(x) with a 1→2→2→1 ReLU net",
            description="The article's tiny net: four ReLUs, a handful of kinks, visibly imperfect.",
            config=MLPConfig(d_in=1, hidden=(2, 2), d_out=1),
            seed=5,  # of seeds 0-7, half end with every ReLU dead or no kink in [0, 10]; 5 keeps three kinks
            n_samples=200,
            lr=0.02,
            epochs=3000,
        ),
        MLPRecipe(
            id="sqrt-mlp-16x16",
            title="sqrt(x) with a 1→16→16→1 ReLU net",
            description="Wide enough to hug sqrt(x): many kinks, error under 0.03 on [1, 10].",
            config=MLPConfig(d_in=1, hidden=(16, 16), d_out=1),
            seed=1,  # seeds 1 and 2 meet both error targets; seed 0 misses 0.03 on [1, 10] (0.040)
            n_samples=2000,
            lr=0.01,
            epochs=6000,
        ),
    ]
}


def sqrt_metrics(model: MLP) -> dict[str, Any]:
    """Exact accuracy and shape figures of a trained sqrt net, from its piecewise-linear form."""
    weights = [(w.double().numpy(), b.double().numpy()) for w, b in model.weights()]
    lo, hi = sqrt.DOMAIN
    regions = linear_regions(weights, lo, hi)
    points = breakpoints(regions)
    return {
        "max_abs_error_0_10": sqrt.max_abs_error(regions, 0.0, 10.0),
        "max_abs_error_1_10": sqrt.max_abs_error(regions, 1.0, 10.0),
        "n_regions": len(within(regions, lo, hi)),
        "n_breakpoints": len(points),
        "n_kinks": sum(p.is_kink for p in points),
    }


def spread_first_kinks(model: MLP, generator: torch.Generator) -> None:
    """Place the first layer's kinks (x = -b/w) uniformly over the domain, facing either way.

    PyTorch's default init draws |w|, |b| ≤ 1 for a 1-D input, so most kinks start near 0 or outside [0, 10] and
    a small net can start (and stay) with every ReLU dead there.
    """
    lo, hi = sqrt.DOMAIN
    linear = model.affine_layers()[0].linear
    d = linear.out_features
    sign = torch.where(torch.rand(d, 1, generator=generator) < 0.5, -1.0, 1.0)
    w = sign * (0.5 + torch.rand(d, 1, generator=generator))  # [d, 1]
    kinks = lo + (hi - lo) * torch.rand(d, generator=generator)  # [d]
    with torch.no_grad():
        linear.weight.copy_(w)
        linear.bias.copy_(-w.squeeze(1) * kinks)


def train_mlp(recipe: MLPRecipe, out_dir: Path, progress: bool = True) -> dict[str, Any]:
    """Train `recipe` from its seed, write its weights and record to out_dir, and return the record."""
    torch.set_num_threads(1)  # one thread: the same seed gives the same floats
    started = time.perf_counter()
    generator = torch.Generator().manual_seed(recipe.seed)
    torch.manual_seed(recipe.seed)
    x = sqrt.samples(recipe.n_samples, generator).unsqueeze(1)  # [n, 1]
    y = torch.sqrt(x)  # [n, 1]
    model = MLP(recipe.config)
    spread_first_kinks(model, generator)
    optimizer = torch.optim.Adam(model.parameters(), lr=recipe.lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=recipe.epochs)
    curve: list[list[float]] = []
    for epoch in range(1, recipe.epochs + 1):
        optimizer.zero_grad()
        loss = torch.mean((model(x) - y) ** 2)
        loss.backward()  # type: ignore[no-untyped-call]
        optimizer.step()
        schedule.step()
        if records.keeps_loss(epoch, recipe.epochs):
            curve.append([epoch, loss.item()])
        if progress and epoch % max(1, recipe.epochs // 10) == 0:
            print(f"{recipe.id}: epoch {epoch}/{recipe.epochs}  mse {loss.item():.3e}", file=sys.stderr)
    model.eval()
    with torch.no_grad():
        final_mse = torch.mean((model(x) - y) ** 2).item()
    record = {
        "id": recipe.id,
        "family": "mlp",
        "title": recipe.title,
        "description": recipe.description,
        "config": recipe.config.to_dict(),
        "seed": recipe.seed,
        "data": {
            "target": "y = sqrt(x)",
            "domain": list(sqrt.DOMAIN),
            "n_samples": recipe.n_samples,
            "distribution": "x = 10·u², u ~ Uniform(0, 1): denser near 0",
            "samples": [round(v, 4) for v in x.squeeze(1).tolist()],
        },
        "init": "PyTorch defaults, then first-layer kinks spread uniformly over the domain (spread_first_kinks)",
        "optimizer": {"name": "Adam", "lr": recipe.lr, "schedule": "cosine decay to 0", "batch": "full"},
        "loss": "mean squared error",
        "epochs": recipe.epochs,
        "loss_curve": curve,
        "metrics": {"final_mse": final_mse, **sqrt_metrics(model)},
        **records.stamp(recipe.id, time.perf_counter() - started),
    }
    records.save(model, record, out_dir)
    return record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m models.train", description=__doc__.splitlines()[0])
    parser.add_argument(
        "id",
        choices=sorted([*MLP_RECIPES, *TEXTNET_RECIPES, *GPT_RECIPES, *SEQ2SEQ_RECIPES]),
        help="the model to train",
    )
    parser.add_argument("--out", type=Path, default=WEIGHTS_DIR, help="where to write ID.safetensors and ID.json")
    args = parser.parse_args(argv)
    if args.id in MLP_RECIPES:
        record = train_mlp(MLP_RECIPES[args.id], args.out)
    elif args.id in TEXTNET_RECIPES:
        record = train_textnet(TEXTNET_RECIPES[args.id], args.out)
    elif args.id in GPT_RECIPES:
        record = train_gpt(GPT_RECIPES[args.id], args.out)
    else:
        record = train_seq2seq(SEQ2SEQ_RECIPES[args.id], args.out)
    print(json.dumps({"id": record["id"], **record["metrics"], "duration_s": record["duration_s"]}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
