"""The character GPT's recipes: shakespeare-char's shape, and char-gpt on a user's text file, its errors clear."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from models.data import shakespeare
from models.families.gpt import LoadedGPT
from models.gpt import GPT, GPTConfig
from models.registry import Registry
from models.train import main
from models.training.gpt import RECIPES, SIZES, CharGPTRecipe, char_recipe, mean_loss, rows


def test_shakespeare_char_has_half_a_million_to_two_million_parameters_and_128_characters_of_context() -> None:
    recipe = RECIPES["shakespeare-char"]
    assert isinstance(recipe, CharGPTRecipe)
    config = recipe.model_config()
    assert list(config.vocab) == shakespeare.corpus().vocabulary()
    assert config.eos is None  # a play runs on: generation stops at its length
    n_params = sum(p.numel() for p in GPT(config).parameters())
    assert 500_000 <= n_params <= 2_000_000
    assert config.n_ctx >= 128
    assert recipe.config_dict() == config.to_dict()


def test_the_mean_loss_reads_evenly_spaced_rows_of_n_ctx_plus_one() -> None:
    ids = torch.arange(100)
    assert rows(ids, torch.tensor([0, 90]), 9).tolist() == [list(range(10)), list(range(90, 100))]
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab=tuple(str(i) for i in range(10)), n_ctx=8, d_model=16, d_mlp=32))
    ids = torch.randint(10, (200,))
    once = mean_loss(model, ids, 8, 7, chunk=3)
    with torch.no_grad():
        starts = torch.linspace(0, 200 - 9, 7).long()
        batch = rows(ids, starts, 8)
        expected = torch.nn.functional.cross_entropy(model(batch[:, :-1]).flatten(0, 1), batch[:, 1:].flatten())
    assert once == pytest.approx(expected.item(), rel=1e-5)


def corpus_file(tmp_path: Path) -> Path:
    path = tmp_path / "sonnet.txt"
    path.write_text("Shall I compare thee to a summer's day?\nThou art more lovely and more temperate.\n" * 40)
    return path


def test_char_gpt_trains_on_a_text_file_into_a_model_the_registry_serves(tmp_path: Path) -> None:
    out = tmp_path / "weights"
    argv = ["char-gpt", "--corpus", str(corpus_file(tmp_path)), "--name", "my-sonnet", "--steps", "3"]
    assert main([*argv, "--out", str(out)]) == 0
    record = json.loads((out / "my-sonnet.json").read_text())
    assert (record["family"], record["tokenizer"], record["epochs"]) == ("gpt", "char", 3)
    assert record["command"] == f"python -m models.train char-gpt --corpus {tmp_path}/sonnet.txt --name my-sonnet " \
        "--size small --steps 3"  # fmt: skip
    assert record["config"]["vocab"] == sorted(set((tmp_path / "sonnet.txt").read_text()))
    assert [step for step, _ in record["validation_curve"]] == [1, 2, 3]
    assert record["metrics"]["validation_loss"] > 0
    assert record["samples"][0]["prompt"] == record["samples"][0]["prompt"][:16]
    assert len(record["samples"][0]["text"]) == 300
    model = Registry(out).load("my-sonnet")
    assert isinstance(model, LoadedGPT)
    assert model.tokenizer.text(model.tokenizer.encode("Thou art")) == "Thou art"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["char-gpt", "--name", "x"], "char-gpt needs --corpus FILE"),
        (["char-gpt", "--corpus", "nowhere.txt", "--name", "x"], "nowhere.txt: no such file"),
        (["char-gpt", "--corpus", "{empty}", "--name", "x"], "the text is empty"),
        (["char-gpt", "--corpus", "{file}", "--name", "My Model"], "--name 'My Model': a model id is lower-case"),
        (["char-gpt", "--corpus", "{file}", "--name", "tiny-gpt"], "'tiny-gpt' is a shipped model's id"),
        (["char-gpt", "--corpus", "{file}", "--name", "x", "--size", "huge"], "invalid choice: 'huge'"),
        (["tiny-gpt", "--corpus", "{file}"], "--corpus and --name are for char-gpt"),
    ],
)
def test_char_gpt_arguments_that_cannot_work_exit_with_the_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    (tmp_path / "empty.txt").write_text("")
    names = {"{empty}": str(tmp_path / "empty.txt"), "{file}": str(corpus_file(tmp_path))}
    with pytest.raises(SystemExit) as exit_:
        main([names.get(a, a) for a in args] + ["--out", str(tmp_path / "out")])
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_file_recipe_reads_its_file_once_before_training(tmp_path: Path) -> None:
    path = corpus_file(tmp_path)
    recipe = char_recipe(path, "sonnet", "small")
    path.unlink()  # the text was read when the recipe was made
    assert recipe.model_config().n_ctx == SIZES["small"].n_ctx
