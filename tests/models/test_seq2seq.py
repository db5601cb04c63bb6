"""The translator: the three attentions behave as their names say, and the record holds."""

from __future__ import annotations

import json
import math

import pytest
import torch

from models.data import translation
from models.families.seq2seq import LoadedSeq2Seq
from models.hooks import hook_names, run_with_cache
from models.registry import WEIGHTS_DIR, Registry
from models.seq2seq import DecoderBlock, Seq2Seq, Seq2SeqConfig
from models.training.seq2seq import evaluate


@pytest.fixture(scope="module")
def translator() -> LoadedSeq2Seq:
    model = Registry().load("tiny-translator")
    assert isinstance(model, LoadedSeq2Seq)
    return model


def _run(model: LoadedSeq2Seq, english: str, french: str) -> dict[str, torch.Tensor]:
    source = model.tokenizer.encode(english)
    target = [model.bos_id, *model.target_tokenizer.encode(french)]
    _, cache = run_with_cache(model.module, torch.tensor([source]), torch.tensor([target]))
    return cache


def ln(name: str) -> list[str]:
    """A layer norm's hooks: its mean and standard deviation, then the normalized values."""
    return [f"{name}.hook_{x}" for x in ("mean", "std", "normalized")]


def test_seq2seq_hook_names_are_pinned_because_they_are_json_keys() -> None:
    attention = [f"hook_{x}" for x in ("q", "k", "v", "scores_raw", "scores", "pattern", "z")]
    encoder_block = ["hook_resid_pre", *ln("ln1"), *(f"attn.{h}" for h in attention), "hook_attn_out",
                     "hook_resid_mid", *ln("ln2"), "mlp.hook_pre", "mlp.hook_post", "hook_mlp_out",
                     "hook_resid_post"]  # fmt: skip
    split = 6 + len(attention)  # resid_pre, ln1 (three hooks), the attention hooks, attn_out, resid_mid
    decoder_block = [*encoder_block[:split], *ln("ln_cross"), *(f"cross_attn.{h}" for h in attention),
                     "hook_cross_out", "hook_resid_cross", *encoder_block[split:]]  # fmt: skip
    expected = ["encoder.hook_embed", "encoder.hook_pos_embed"]
    expected += [f"encoder.blocks.{i}.{h}" for i in range(2) for h in encoder_block] + [*ln("encoder.ln_final")]
    expected += ["decoder.hook_embed", "decoder.hook_pos_embed"]
    expected += [f"decoder.blocks.{i}.{h}" for i in range(2) for h in decoder_block]
    expected += [*ln("decoder.ln_final"), "decoder.hook_logits"]
    assert hook_names(Seq2Seq(Seq2SeqConfig(source_vocab=("a",), target_vocab=("<s>", "</s>")))) == expected


def test_the_encoder_sees_every_word_and_the_decoder_only_earlier_ones(translator: LoadedSeq2Seq) -> None:
    cache = _run(translator, "the black cat sees a white house .", "le chat noir voit")
    for layer in range(2):
        enc = cache[f"encoder.blocks.{layer}.attn.hook_pattern"][0]  # [heads, source_pos, source_pos]
        above = torch.triu(torch.ones(enc.shape[-1], enc.shape[-1], dtype=torch.bool), diagonal=1)
        assert enc[:, above].sum() > 0.1  # not masked: attention flows to later source words
        assert not torch.isinf(cache[f"encoder.blocks.{layer}.attn.hook_scores"]).any()
        dec = cache[f"decoder.blocks.{layer}.attn.hook_pattern"][0]  # [heads, target_pos, target_pos]
        causal = torch.triu(torch.ones(dec.shape[-1], dec.shape[-1], dtype=torch.bool), diagonal=1)
        assert (dec[:, causal] == 0).all()
        torch.testing.assert_close(dec.sum(-1), torch.ones_like(dec.sum(-1)))


def test_cross_attention_reads_the_encoder_output_and_each_row_sums_to_1(translator: LoadedSeq2Seq) -> None:
    cache = _run(translator, "the small dogs fall .", "les petits")
    memory = cache["encoder.ln_final.hook_normalized"]  # [1, source_pos, d_model]
    for layer in range(2):
        a = f"decoder.blocks.{layer}.cross_attn."
        block = translator.module.decoder.blocks[layer]
        assert isinstance(block, DecoderBlock)
        attn = block.cross_attn
        k = attn.heads(attn.W_K(memory))  # [1, heads, source_pos, d_head]
        torch.testing.assert_close(cache[a + "hook_k"], k)
        q = cache[a + "hook_q"]
        pattern = cache[a + "hook_pattern"]  # [1, heads, target_pos, source_pos]
        assert pattern.shape == (1, 4, 3, 5)
        torch.testing.assert_close(pattern, torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(8), dim=-1))
        torch.testing.assert_close(pattern.sum(-1), torch.ones(1, 4, 3))


def test_decoder_activations_at_a_position_ignore_later_target_words(translator: LoadedSeq2Seq) -> None:
    a = _run(translator, "the cat sleeps .", "le chat dort")
    b = _run(translator, "the cat sleeps .", "le chat tombe")
    for name, value in a.items():
        if not name.startswith("decoder."):
            torch.testing.assert_close(value, b[name], msg=name)  # the encoder does not see the target at all
        elif name.endswith(("attn.hook_scores_raw", "attn.hook_scores", "attn.hook_pattern")) and "cross" not in name:
            torch.testing.assert_close(value[..., :3, :3], b[name][..., :3, :3], msg=name)
        elif ".attn." in name or ".cross_attn." in name:
            torch.testing.assert_close(value[:, :, :3], b[name][:, :, :3], msg=name)
        else:
            torch.testing.assert_close(value[:, :3], b[name][:, :3], msg=name)


def test_a_sample_of_held_out_sentences_reproduces_the_recorded_accuracy(translator: LoadedSeq2Seq) -> None:
    record = json.loads((WEIGHTS_DIR / "tiny-translator.json").read_text())
    _, test = translation.corpus(record["seed"])
    sample = evaluate(translator.module, test[::4])
    assert sample["exact_match"] == pytest.approx(record["metrics"]["exact_match"], abs=0.05)
    assert sample["token_accuracy"] == pytest.approx(record["metrics"]["token_accuracy"], abs=0.02)


def test_the_corpus_agrees_in_gender_and_number_and_moves_adjectives() -> None:
    by_english = {" ".join(p.english): " ".join(p.french) for p in translation.pairs()}
    assert by_english["the black cat sleeps ."] == "le chat noir dort ."
    assert by_english["a white house falls ."] == "une maison blanche tombe ."
    assert by_english["the small birds sleep ."] == "les petits oiseaux dorment ."
    assert by_english["the red flowers fall ."] == "les fleurs rouges tombent ."
    train, test = translation.corpus(0)
    assert not {p.english for p in train} & {p.english for p in test}


def test_generation_encodes_the_source_once_and_gives_the_full_pass_logits(translator: LoadedSeq2Seq) -> None:
    source = translator.tokenizer.encode("the black cat sleeps .")
    context = [translator.bos_id, *translator.target_tokenizer.encode("le chat")]
    next_logits = translator.next_logits_for(source)
    with torch.no_grad():
        full = translator.module(torch.tensor([source]), torch.tensor([context]))[0, -1]  # [vocab]
    assert torch.allclose(next_logits(context), full, atol=1e-6)
    assert torch.allclose(
        next_logits(context[:1]),
        translator.module(torch.tensor([source]), torch.tensor([context[:1]]))[0, -1].detach(),
        atol=1e-6,
    )


def test_the_alignment_is_each_layers_cross_attention_averaged_over_its_heads(translator: LoadedSeq2Seq) -> None:
    source = translator.tokenizer.encode("the black cat sees a white house .")
    target = [translator.bos_id, *translator.target_tokenizer.encode("le chat noir")]
    _, cache = translator.run_with_cache(source, target)
    config = translator.module.config
    alignment = translator.alignment(cache)
    assert alignment.shape == (config.n_layers, 4, 8)  # [layer, target_pos, source_pos]
    for layer in range(config.n_layers):
        pattern = cache[f"decoder.blocks.{layer}.cross_attn.hook_pattern"]  # [heads, target_pos, source_pos]
        heads = sum(pattern[h] for h in range(config.n_heads)) / config.n_heads
        torch.testing.assert_close(alignment[layer], heads)
    torch.testing.assert_close(alignment.sum(-1), torch.ones(config.n_layers, 4))


def test_what_each_target_word_read_is_what_it_read_when_it_was_the_last_one(translator: LoadedSeq2Seq) -> None:
    """One pass over a finished translation gives each word's reading, because the decoder is causal: row j is
    what position j read when the translation ended there (a generation step's own pass)."""
    source = translator.tokenizer.encode("the small dogs fall .")
    target = [translator.bos_id, *translator.target_tokenizer.encode("les petits chiens")]
    whole = translator.reading(source, target)  # [target_pos, source_pos]
    for j in range(len(target)):
        _, cache = translator.run_with_cache(source, target[: j + 1])
        last = cache[translator.cross_patterns()[-1]][:, -1]  # [n_heads, source_pos]: the newest position's rows
        torch.testing.assert_close(whole[j], last.mean(0))
