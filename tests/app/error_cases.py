"""Every error the API gives, as data: a request, and the status and exact `detail` the app answers it with.

tests/app/test_errors.py sends each case to the real app; tests/app/errors_catalogue.py renders the cases, with the
responses the app gives, into docs/errors.md.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import httpx

from models.registry import WEIGHTS_DIR, saved_checkpoints
from tests.app.conftest import Client

JSON = "application/json"


@dataclass(frozen=True)
class Case:
    title: str  # when it happens, as the catalogue's "when" column says it
    path: str
    body: str | bytes | None  # sent exactly as written: JSON text, or not
    message: str  # the exact `detail` of the answer
    status: int = 422
    method: str = "POST"
    content_type: str | None = JSON  # sent with a body; None sends none
    chunk: int = 0  # > 0: the body is streamed in chunks of this many bytes, without a Content-Length
    busy: bool = False  # sent while the app handles as many requests as it may at once
    training: bool = False  # sent while as many live training runs go as the app allows

    def send(self, client: Client) -> httpx.Response:
        content = self.body.encode() if isinstance(self.body, str) else self.body
        headers = {"content-type": self.content_type} if content is not None and self.content_type else {}
        if self.busy:
            return asyncio.run(_while_busy(client, self.method, self.path, content or b"", headers))
        if self.training:
            return _while_training(client, lambda: client.request(self.method, self.path, content=content,
                                                                  headers=headers))  # fmt: skip
        if self.chunk and content is not None:
            return client.request(self.method, self.path, content=_chunks(content, self.chunk), headers=headers)
        return client.request(self.method, self.path, content=content, headers=headers)


async def _chunks(content: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(content), size):
        yield content[start : start + size]


async def _while_busy(
    client: Client, method: str, path: str, content: bytes, headers: dict[str, str]
) -> httpx.Response:
    """The request, sent while as many copies of it as the app handles at once are in flight: their bodies are held
    back until it has been answered."""
    limit = client.app.state.settings.max_active_requests
    reading = 0
    all_in, answered = asyncio.Event(), asyncio.Event()

    async def held_back() -> AsyncIterator[bytes]:
        nonlocal reading
        reading += 1  # the app has taken this request in and waits for its body
        if reading == limit:
            all_in.set()
        await answered.wait()
        yield content

    async with client.connect() as http:
        held = [
            asyncio.create_task(http.request(method, path, content=held_back(), headers=headers)) for _ in range(limit)
        ]
        await asyncio.wait_for(all_in.wait(), timeout=10)
        response = await http.request(method, path, content=content, headers=headers)
        answered.set()
        await asyncio.gather(*held)
    return response


def _while_training(client: Client, send: Callable[[], httpx.Response]) -> httpx.Response:
    """What `send` gets while every place for a live run is taken (they are held, no process started)."""
    trainer = client.app.state.trainer
    held = [trainer.reserve() for _ in range(trainer.max_runs)]
    try:
        return send()
    finally:
        for _ in held:
            trainer.release()


MLP = "/api/models/sqrt-mlp-2x2"
TEXTNET = "/api/models/textnet-2d-sgd"
GPT = "/api/models/tiny-gpt"
TRANSLATOR = "/api/models/tiny-translator"
MINILM = "/api/models/minilm-l6"
MLP_SAVED = ", ".join(str(e) for e in saved_checkpoints(json.loads((WEIGHTS_DIR / "sqrt-mlp-2x2.json").read_text())))
SEE_DOCS = "See /docs for the request body this endpoint takes."
SEE_QUERY = "See /docs for the query parameters this endpoint takes."
UNKNOWN_MODEL = (
    "Unknown model 'nope'. Known: minilm-l6, shakespeare-char, sqrt-mlp-16x16, sqrt-mlp-2x2, textnet-2d-sgd, "
    "textnet-4d-adam, "
    "tiny-gpt, tiny-translator"
)
TOO_LARGE = "; the limit is 16384 bytes (setting LAYERWALK_MAX_BODY_BYTES). Send a smaller body."
NOT_PARSED = (
    "The request body could not be parsed (malformed JSON, nested too deeply, or a number too long). "
    "Send a flat JSON object with numbers of ordinary length."
)
NOT_JSON = "The request body was not read as JSON. Send it with the header Content-Type: application/json."
NOT_FINITE = "is not a finite number. Send a number such as 4.0."
NOT_FOR_MLP = "does not apply to an mlp model, which outputs a number. Leave it out."
TEXTNET_VOCAB = (
    "is not in the vocabulary (hello, world, cat, dog, !, silly, cute). Use only those words "
    "(GET /api/models/textnet-2d-sgd lists them)."
)
NO_PREFIX = "has no decoder prefix. Leave it out: only the translator takes one."
ENCODER_FULL = "input: the text is 18 tokens long. The encoder holds 16; send fewer."

# fmt: off
SECTIONS: dict[str, list[Case]] = {
    "Any endpoint": [
        Case("a path that does not exist", "/api/nothing", None,
             "Nothing at /api/nothing. The models are listed at /api/models and the API at /docs.", 404, "GET"),
        Case("a static file that does not exist", "/static/nope.js", None,
             "Nothing at /static/nope.js. The models are listed at /api/models and the API at /docs.", 404, "GET"),
        Case("a path that climbs out of its folder", "/api/models/..%2Fweights", None,
             "Nothing at /api/models/../weights. The models are listed at /api/models and the API at /docs.", 404,
             "GET"),
        Case("a method the path does not take", f"{MLP}/forward", None,
             "GET is not allowed on /api/models/sqrt-mlp-2x2/forward. Use POST; see /docs.", 405, "GET"),
        Case("a body over the limit, by its Content-Length", f"{MLP}/forward", '{"input": 1' + " " * 20_000 + "}",
             f"The request body is at least 20012 bytes{TOO_LARGE}", 413),
        Case("a body over the limit, streamed without a Content-Length", f"{MLP}/forward", " " * 100_000,
             f"The request body is at least 17000 bytes{TOO_LARGE}", 413, chunk=1000),
        Case("more requests at once than the server handles", f"{MLP}/forward", '{"input": 4}',
             "The server is busy: it is handling 256 requests, its limit (setting LAYERWALK_MAX_ACTIVE_REQUESTS). "
             "Retry in 1 s.", 503, busy=True),
        Case("a body that is not UTF-8", f"{MLP}/forward", b'{"input": "\xff"}',
             "The request body is not UTF-8 (byte 0xff at position 11). Send the JSON encoded as UTF-8.", 400),
        Case("JSON nested too deeply", f"{MLP}/forward", "[" * 5000 + "]" * 5000, NOT_PARSED, 400),
        Case("a number too long for the JSON parser", f"{MLP}/forward", '{"input": 1' + "0" * 5000 + "}", NOT_PARSED,
             400),
        Case("a body that is not JSON", f"{MLP}/forward", "{not json",
             "The request body is not valid JSON (Expecting property name enclosed in double quotes). "
             f"Send a JSON object. {SEE_DOCS}"),
        Case("an empty body", f"{MLP}/forward", "", f"The request body is empty. Send a JSON object. {SEE_DOCS}"),
        Case("a JSON array as the body", f"{MLP}/forward", "[1, 2]",
             f"The request body must be a JSON object, got [1, 2]. {SEE_DOCS}"),
        Case("JSON sent without a Content-Type", f"{MLP}/forward", '{"input": 4}', NOT_JSON, content_type=None),
        Case("JSON sent as text/plain", f"{MLP}/forward", '{"input": 4}', NOT_JSON, content_type="text/plain"),
        Case("a field the request does not have", f"{MLP}/forward", '{"input": 1, "x": 2}',
             f"'x' is not a field of this request. {SEE_DOCS}"),
        Case("a required field missing", f"{MLP}/forward", "{}", f"'input' is missing. {SEE_DOCS}"),
    ],
    "Models": [
        Case("an unknown model", "/api/models/nope", None, UNKNOWN_MODEL, 404, "GET"),
        Case("forward on an unknown model", "/api/models/nope/forward", '{"input": 1.0}', UNKNOWN_MODEL, 404),
        Case("generate on an MLP", f"{MLP}/generate", '{"prompt": "dog"}',
             "'sqrt-mlp-2x2' (mlp) does not generate text. Text models: shakespeare-char, textnet-2d-sgd, "
             "textnet-4d-adam, tiny-gpt, tiny-translator.", 404),
        Case("compare on a model that does not compare", f"{TRANSLATOR}/compare",
             '{"input": "the cat sleeps .", "other": "the dog sleeps ."}',
             "'tiny-translator' (seq2seq) does not compare two inputs. Models that do: minilm-l6, shakespeare-char, "
             "tiny-gpt.", 404),
    ],
    "MLP: forward": [
        Case("NaN", f"{MLP}/forward", '{"input": NaN}', f"input: nan {NOT_FINITE}"),
        Case("Infinity", f"{MLP}/forward", '{"input": Infinity}', f"input: inf {NOT_FINITE}"),
        Case("-Infinity", f"{MLP}/forward", '{"input": -Infinity}', f"input: -inf {NOT_FINITE}"),
        Case("a literal that overflows a float", f"{MLP}/forward", '{"input": 1e400}', f"input: inf {NOT_FINITE}"),
        Case("|x| over 1000", f"{MLP}/forward", '{"input": 1e6}',
             "input: 1000000.0 is out of range. Send a number between -1000 and 1000 (the training domain is "
             "[0, 10])."),
        Case("an integer literal too long for a float", f"{MLP}/forward", '{"input": 1' + "0" * 400 + "}",
             "input: the integer with 401 digits is too large. Send a number such as 4.0."),
        Case("a string", f"{MLP}/forward", '{"input": "four"}',
             "input: this model takes a number, got the string 'four'. Send e.g. 4.0."),
        Case("a boolean", f"{MLP}/forward", '{"input": true}',
             "input: got the boolean true. Send a number (mlp models) or text (text models)."),
        Case("null", f"{MLP}/forward", '{"input": null}',
             f"input: expected a number (or, for text models, a string) (got None). {SEE_DOCS}"),
        Case("an array", f"{MLP}/forward", '{"input": [1]}',
             f"input: expected a number (or, for text models, a string) (got [1]). {SEE_DOCS}"),
        Case("a sampling setting: temperature", f"{MLP}/forward", '{"input": 1.0, "temperature": 1}',
             f"temperature: {NOT_FOR_MLP}"),
        Case("a sampling setting: top_k", f"{MLP}/forward", '{"input": 1.0, "top_k": 1}', f"top_k: {NOT_FOR_MLP}"),
        Case("a sampling setting: top_p", f"{MLP}/forward", '{"input": 1.0, "top_p": 1}', f"top_p: {NOT_FOR_MLP}"),
        Case("a sampling setting: repetition_penalty", f"{MLP}/forward", '{"input": 1.0, "repetition_penalty": 1}',
             f"repetition_penalty: {NOT_FOR_MLP}"),
        Case("a decoder prefix (`target`)", f"{MLP}/forward", '{"input": 1.0, "target": "le"}',
             f"target: {NOT_FOR_MLP}"),
    ],
    "Text nets: forward": [
        Case("a word outside the vocabulary", f"{TEXTNET}/forward", '{"input": "horse"}',
             f"input: 'horse' {TEXTNET_VOCAB}"),
        Case("a word outside the vocabulary, not ASCII", f"{TEXTNET}/forward", '{"input": "café"}',
             f"input: 'café' {TEXTNET_VOCAB}"),
        Case("empty text", f"{TEXTNET}/forward", '{"input": ""}',
             "input: the text is empty. Send words of the vocabulary (GET /api/models/textnet-2d-sgd)."),
        Case("blank text", f"{TEXTNET}/forward", '{"input": "   "}',
             "input: the text is empty. Send words of the vocabulary (GET /api/models/textnet-2d-sgd)."),
        Case("a control character", f"{TEXTNET}/forward", '{"input": "dog\\u0007"}',
             "input: the text holds the control character U+0007. Send plain text."),
        Case("half a surrogate pair", f"{TEXTNET}/forward", '{"input": "dog \\ud83d"}',
             "input: the text holds U+D83D, half of a surrogate pair. Send valid Unicode text."),
        Case("over 400 characters", f"{TEXTNET}/forward", '{"input": "' + "dog " * 110 + '"}',
             "input: the text is 440 characters long. Send at most 400."),
        Case("a number", f"{TEXTNET}/forward", '{"input": 4.0}',
             "input: this model takes text, got the number 4.0. Send words such as 'hello'."),
        Case("temperature below 0", f"{TEXTNET}/forward", '{"input": "dog", "temperature": -0.1}',
             f"temperature: Input should be greater than or equal to 0 (got -0.1). {SEE_DOCS}"),
        Case("temperature above 10", f"{TEXTNET}/forward", '{"input": "dog", "temperature": 11}',
             f"temperature: Input should be less than or equal to 10 (got 11). {SEE_DOCS}"),
        Case("temperature a boolean", f"{TEXTNET}/forward", '{"input": "dog", "temperature": true}',
             f"temperature: Input should be a valid number (got True). {SEE_DOCS}"),
        Case("temperature NaN", f"{TEXTNET}/forward", '{"input": "dog", "temperature": NaN}',
             f"temperature: Input should be a finite number (got nan). {SEE_DOCS}"),
        Case("temperature between 0 and 0.0001", f"{TEXTNET}/forward", '{"input": "dog", "temperature": 1e-40}',
             "temperature: 1e-40 is too small to divide by. Send 0 for the argmax (the limit T → 0), "
             "or at least 0.0001."),
        Case("top_k below 1", f"{TEXTNET}/forward", '{"input": "dog", "top_k": 0}',
             f"top_k: Input should be greater than or equal to 1 (got 0). {SEE_DOCS}"),
        Case("top_k above the vocabulary size", f"{TEXTNET}/forward", '{"input": "dog", "top_k": 8}',
             "top_k: 8 is more than the vocabulary's 7 words. Send 1 to 7, or null."),
        Case("top_k not an integer", f"{TEXTNET}/forward", '{"input": "dog", "top_k": 2.5}',
             f"top_k: Input should be a valid integer (got 2.5). {SEE_DOCS}"),
        Case("top_p 0", f"{TEXTNET}/forward", '{"input": "dog", "top_p": 0}',
             f"top_p: Input should be greater than 0 (got 0). {SEE_DOCS}"),
        Case("top_p above 1", f"{TEXTNET}/forward", '{"input": "dog", "top_p": 1.01}',
             f"top_p: Input should be less than or equal to 1 (got 1.01). {SEE_DOCS}"),
        Case("repetition_penalty below 1", f"{TEXTNET}/forward", '{"input": "dog", "repetition_penalty": 0.9}',
             f"repetition_penalty: Input should be greater than or equal to 1 (got 0.9). {SEE_DOCS}"),
        Case("a decoder prefix (`target`)", f"{TEXTNET}/forward", '{"input": "dog", "target": "le"}',
             f"target: a textnet model {NO_PREFIX}"),
    ],
    "Text nets: generate": [
        Case("max_new_tokens above a word model's 20", f"{TEXTNET}/generate", '{"prompt": "dog", "max_new_tokens": 21}',
             "max_new_tokens: 21 is more than 'textnet-2d-sgd' adds in one generation. Send at most 20."),
        Case("max_new_tokens above a character model's 400", "/api/models/shakespeare-char/generate",
             '{"prompt": "ROMEO:", "max_new_tokens": 401}',
             f"max_new_tokens: Input should be less than or equal to 400 (got 401). {SEE_DOCS}"),
        Case("max_new_tokens below 1", f"{TEXTNET}/generate", '{"prompt": "dog", "max_new_tokens": 0}',
             f"max_new_tokens: Input should be greater than or equal to 1 (got 0). {SEE_DOCS}"),
        Case("a negative seed", f"{TEXTNET}/generate", '{"prompt": "dog", "seed": -1}',
             f"seed: Input should be greater than or equal to 0 (got -1). {SEE_DOCS}"),
        Case("a word outside the vocabulary", f"{TEXTNET}/generate", '{"prompt": "unicorn"}',
             f"prompt: 'unicorn' {TEXTNET_VOCAB}"),
        Case("half a surrogate pair", f"{TEXTNET}/generate", '{"prompt": "dog \\ud83d"}',
             "prompt: the text holds U+D83D, half of a surrogate pair. Send valid Unicode text."),
        Case("a forward body sent to generate: two errors, one message each", f"{TEXTNET}/generate",
             '{"input": "dog"}', f"'prompt' is missing. {SEE_DOCS} 'input' is not a field of this request. {SEE_DOCS}"),
    ],
    "GPT: forward": [
        Case("a word outside the vocabulary", f"{GPT}/forward", '{"input": "the horse"}',
             "input: 'horse' is not in the vocabulary. Nearest known: mouse. GET /api/models/tiny-gpt lists all 48 "
             "words (its vocab)."),
        Case("a word outside the vocabulary, none near it", f"{GPT}/forward", '{"input": "the zzzz"}',
             "input: 'zzzz' is not in the vocabulary. GET /api/models/tiny-gpt lists all 48 words (its vocab)."),
        Case("more tokens than the context", f"{GPT}/forward", '{"input": "' + "the dog " * 13 + '"}',
             "input: the text is 26 tokens long. The context holds 24; send fewer."),
        Case("blank text", f"{GPT}/forward", '{"input": " "}',
             "input: the text is empty. Send words of the vocabulary (GET /api/models/tiny-gpt)."),
        Case("a control character", f"{GPT}/forward", '{"input": "the\\u0000dog"}',
             "input: the text holds the control character U+0000. Send plain text."),
        Case("top_k above the vocabulary size", f"{GPT}/forward", '{"input": "the dog", "top_k": 49}',
             "top_k: 49 is more than the vocabulary's 48 words. Send 1 to 48, or null."),
        Case("repetition_penalty above 10", f"{GPT}/forward", '{"input": "the dog", "repetition_penalty": 11}',
             f"repetition_penalty: Input should be less than or equal to 10 (got 11). {SEE_DOCS}"),
        Case("a decoder prefix (`target`)", f"{GPT}/forward", '{"input": "the", "target": "le"}',
             f"target: a gpt model {NO_PREFIX}"),
    ],
    "GPT: generate": [
        Case("a word outside the vocabulary", f"{GPT}/generate", '{"prompt": "the horse"}',
             "prompt: 'horse' is not in the vocabulary. Nearest known: mouse. GET /api/models/tiny-gpt lists all 48 "
             "words (its vocab)."),
        Case("top_k above the vocabulary size", f"{GPT}/generate", '{"prompt": "the dog", "top_k": 999}',
             "top_k: 999 is more than the vocabulary's 48 words. Send 1 to 48, or null."),
    ],
    "GPT: compare": [
        Case("a word outside the vocabulary in the other text", f"{GPT}/compare",
             '{"input": "the dog", "other": "the horse"}',
             "other: 'horse' is not in the vocabulary. Nearest known: mouse. GET /api/models/tiny-gpt lists all 48 "
             "words (its vocab)."),
        Case("more tokens than the context", f"{GPT}/compare", '{"input": "the dog", "other": "' + "the " * 25 + '"}',
             "other: the text is 25 tokens long. The context holds 24; send fewer."),
        Case("the other text missing", f"{GPT}/compare", '{"input": "the dog"}', f"'other' is missing. {SEE_DOCS}"),
    ],
    "Translator: forward": [
        Case("an English word outside the vocabulary", f"{TRANSLATOR}/forward", '{"input": "the horse sleeps ."}',
             "input: 'horse' is not in the vocabulary. Nearest known: house, houses. GET /api/models/tiny-translator "
             "lists all 30 words (its vocab)."),
        Case("a French word outside the target vocabulary", f"{TRANSLATOR}/forward",
             '{"input": "the cat sleeps .", "target": "le cheval"}',
             "target: 'cheval' is not in the vocabulary. Nearest known: chat. GET /api/models/tiny-translator lists "
             "all 48 words (its target_vocab)."),
        Case("empty text", f"{TRANSLATOR}/forward", '{"input": ""}',
             "input: the text is empty. Send words of the vocabulary (GET /api/models/tiny-translator)."),
        Case("a number", f"{TRANSLATOR}/forward", '{"input": 4}',
             "input: this model takes text, got the number 4.0. Send words such as 'a'."),
        Case("a control character in the prefix", f"{TRANSLATOR}/forward",
             '{"input": "the cat sleeps .", "target": "le\\u0007chat"}',
             "target: the text holds the control character U+0007. Send plain text."),
        Case("more English tokens than the encoder holds", f"{TRANSLATOR}/forward",
             '{"input": "' + "the cat " * 9 + '"}', ENCODER_FULL),
        Case("a prefix longer than the decoder holds", f"{TRANSLATOR}/forward",
             '{"input": "the cat sleeps .", "target": "' + "le " * 16 + '"}',
             "target: the prefix is 16 tokens long. Send at most 15."),
        Case("the start or end token in the prefix", f"{TRANSLATOR}/forward",
             '{"input": "the cat", "target": "<s> le chat"}',
             "target: it holds <s> or </s>. The server adds the start and end tokens; leave them out."),
        Case("top_k above the vocabulary size", f"{TRANSLATOR}/forward", '{"input": "the cat", "top_k": 99}',
             "top_k: 99 is more than the vocabulary's 48 words. Send 1 to 48, or null."),
    ],
    "Translator: generate": [
        Case("an English word outside the vocabulary", f"{TRANSLATOR}/generate", '{"prompt": "the horse"}',
             "prompt: 'horse' is not in the vocabulary. Nearest known: house, houses. GET /api/models/tiny-translator "
             "lists all 30 words (its vocab)."),
        Case("more English tokens than the encoder holds", f"{TRANSLATOR}/generate",
             '{"prompt": "' + "the cat " * 9 + '"}', "prompt" + ENCODER_FULL.removeprefix("input")),
    ],
    "Choosing the steps (`hooks`)": [
        Case("a hook the model does not have", f"{GPT}/forward",
             '{"input": "the dog", "hooks": ["blocks.0.attn.hook_qq"]}',
             "hooks: 'blocks.0.attn.hook_qq' is not a hook of 'tiny-gpt'. Nearest: blocks.0.attn.hook_q. Send names "
             'from the hook_names of GET /api/models/tiny-gpt, or "all".'),
        Case("a word instead of a list", f"{GPT}/forward", '{"input": "the dog", "hooks": "every"}',
             'hooks: got the text \'every\'. Send a list of hook names, or "all".'),
    ],
    "MiniLM encoder (bert): forward and compare": [
        Case("more WordPiece pieces than the page reads", f"{MINILM}/forward",
             '{"input": "' + "a man eats " * 21 + '"}',
             "input: the text is 65 WordPiece pieces long ([CLS] and [SEP] included). This page reads at most 64 (the "
             "model could read 512); send a shorter text."),
        Case("blank text", f"{MINILM}/forward", '{"input": "  "}',
             "input: the text is empty. Send an English sentence."),
        Case("a sampling setting", f"{MINILM}/forward", '{"input": "A man is eating.", "temperature": 0.5}',
             "temperature: does not apply to an encoder, which predicts no next token. Leave it out."),
        Case("a decoder prefix", f"{MINILM}/forward", '{"input": "A man is eating.", "target": "un homme"}',
             "target: a bert model has no decoder prefix. Leave it out: only the translator takes one."),
        Case("an empty text to compare with", f"{MINILM}/compare", '{"input": "A man is eating.", "other": ""}',
             "other: the text is empty. Send an English sentence."),
    ],
    "Explain": [
        Case("an unknown hook", f"{GPT}/explain",
             '{"input": "the dog", "hook": "blocks.0.attn.hook_qq", "index": [0, 0, 0]}',
             "hook: 'blocks.0.attn.hook_qq' is not a value of 'tiny-gpt'. Nearest: blocks.0.attn.hook_q. Send one of "
             "the hook_names of GET /api/models/tiny-gpt, a name from a forward step's `parameters`, or output.scaled "
             "or output.probs (the next token)."),
        Case("a parameter index out of range", f"{MLP}/explain",
             '{"input": 1.0, "hook": "layers.0.linear.weight", "index": [0, 1]}',
             "index: [0, 1] does not index layers.0.linear.weight, whose shape is [2, 1]. Send 2 numbers, each from 0 "
             "up to [1, 0]."),
        Case("an index out of range", f"{GPT}/explain",
             '{"input": "the dog", "hook": "blocks.0.attn.hook_q", "index": [0, 2, 0]}',
             "index: [0, 2, 0] does not index blocks.0.attn.hook_q, whose shape is [4, 2, 8]. Send 3 numbers, each "
             "from 0 up to [3, 1, 7]."),
        Case("an index of the wrong length", f"{GPT}/explain",
             '{"input": "the dog", "hook": "hook_embed", "index": [0]}',
             "index: [0] does not index hook_embed, whose shape is [2, 32]. Send 2 numbers, each from 0 up to "
             "[1, 31]."),
        Case("a value with no unfolding", f"{MLP}/explain", '{"input": 1.0, "hook": "output.probs", "index": [0]}',
             "hook: output.probs has no unfolding: an MLP outputs a number, not a next-token distribution. Unfold "
             "another value."),
        Case("no hook", f"{GPT}/explain", '{"input": "the dog", "index": [0]}', f"'hook' is missing. {SEE_DOCS}"),
    ],
    "What if (interventions)": [
        Case("an op layerwalk does not make", f"{GPT}/forward",
             '{"input": "the dog", "interventions": [{"op": "no_mask", "layer": 0}]}',
             "interventions.0.op: 'no_mask' is not a change layerwalk makes. Did you mean no_causal_mask? Send one "
             "of no_causal_mask, no_scaling, no_positions, ablate_head, set_score, set_param, patch."),
        Case("more than 8 changes", f"{GPT}/forward",
             '{"input": "the dog", "interventions": [' + ", ".join(['{"op": "no_positions"}'] * 9) + "]}",
             "interventions: 9 changes are too many. Send at most 8."),
        Case("a layer the model does not have", f"{GPT}/forward",
             '{"input": "the dog", "interventions": [{"op": "no_scaling", "layer": 5}]}',
             "interventions.0.layer: layer 5 is out of range: there are 2 layers. Send 0 to 1."),
        Case("a head the model does not have", f"{GPT}/forward",
             '{"input": "the dog", "interventions": [{"op": "ablate_head", "layer": 0, "head": 4}]}',
             "interventions.0.head: head 4 is out of range: there are 4 heads. Send 0 to 3."),
        Case("a position the input does not have", f"{GPT}/forward",
             '{"input": "the dog", "interventions": [{"op": "set_score", "layer": 0, "head": 0, "query": 2, '
             '"key": 0, "value": 1}]}',
             "interventions.0.query: query 2 is out of range: there are 2 queries (positions of the input). Send 0 "
             "to 1."),
        Case("a value beyond ±10⁴", f"{GPT}/forward",
             '{"input": "the dog", "interventions": [{"op": "set_score", "layer": 0, "head": 0, "query": 1, '
             '"key": 0, "value": 1e9}]}',
             "interventions.0.value: 1000000000.0 is not a finite number within ±10000. Send a number from −10000 to "
             "10000."),
        Case("removing a mask attention does not have", f"{MINILM}/forward",
             '{"input": "A man.", "interventions": [{"op": "no_causal_mask", "layer": 0}]}',
             "interventions.0.op: blocks.0.attn has no causal mask: it already sees every word. Remove the mask of "
             "a self-attention that has one: a GPT's, or the translator's decoder."),
        Case("the translator without a stack", f"{TRANSLATOR}/forward",
             '{"input": "the cat .", "interventions": [{"op": "ablate_head", "layer": 0, "head": 0}]}',
             'interventions.0.stack: the translator has three kinds of attention. Send stack: "encoder", "decoder" '
             'or "cross".'),
        Case("a weight on a transformer", f"{GPT}/forward",
             '{"input": "the dog", "interventions": [{"op": "set_param", "name": "embed.weight", "index": [0, 0], '
             '"value": 1}]}',
             "interventions.0.op: set_param changes the MLP's and the text net's weights. On a transformer, use "
             "set_score, ablate_head or patch."),
        Case("a weight index that does not fit", f"{MLP}/forward",
             '{"input": 4.0, "interventions": [{"op": "set_param", "name": "layers.0.W", "index": [5, 0], '
             '"value": 1}]}',
             "interventions.0.index: [5, 0] does not fit layers.0.linear.weight, shaped [2, 1]. Send 2 indices, "
             "each below its size."),
        Case("a patch with no second input", f"{GPT}/forward",
             '{"input": "the dog", "interventions": [{"op": "patch", "hook": "hook_embed", "position": 0}]}',
             "interventions.0.source: patch needs a second input. Send source: the other input."),
        Case("unfolding a changed pass", f"{GPT}/explain",
             '{"input": "the dog", "hook": "hook_embed", "index": [0, 0], "interventions": [{"op": '
             '"no_positions"}]}',
             "interventions: an unfolding explains the unchanged pass, whose numbers the page shows. Leave "
             "interventions out; the changed values are in /forward's what_if."),
    ],
    "Checkpoints": [
        Case("a training step that was not saved", f"{MLP}/forward", '{"input": 4.0, "checkpoint": 7}',
             f"checkpoint: epoch 7 of 'sqrt-mlp-2x2' was not saved. Send one of the saved epochs: {MLP_SAVED}."),
        Case("a step of a model with no trajectory", f"{MINILM}/forward", '{"input": "A man.", "checkpoint": 0}',
             "checkpoint: 'minilm-l6' has no training trajectory: it was pretrained elsewhere: only its final "
             "weights are here. Leave checkpoint out."),
        Case("a detail at a step that was not saved", f"{MLP}?checkpoint=7", None,
             f"checkpoint: epoch 7 of 'sqrt-mlp-2x2' was not saved. Send one of the saved epochs: {MLP_SAVED}.",
             method="GET"),
    ],
    "QR code": [
        Case("no text", "/api/qr", None, f"'text' is missing. {SEE_QUERY}", method="GET"),
        Case("empty text", "/api/qr?text=", None,
             f"text: String should have at least 1 character (got ''). {SEE_QUERY}", method="GET"),
        Case("text over 2000 characters", "/api/qr?text=" + "x" * 2001, None,
             f"text: String should have at most 2000 characters (got '{'x' * 60}…'). {SEE_QUERY}", method="GET"),
        Case("text that does not fit in a QR code (2,331 bytes)", "/api/qr?text=" + "\N{GRINNING FACE}" * 600, None,
             "text: the text does not fit in a QR code (600 characters, 2400 bytes as UTF-8). Send at most 2000 "
             "ASCII characters.", method="GET"),
        Case("a method it does not take", "/api/qr", None, "POST is not allowed on /api/qr. Use GET; see /docs.", 405),
    ],
    "Live training": [
        Case("no family", "/api/train", "{}", f"'family' is missing. {SEE_DOCS}"),
        Case("a family that does not train live", "/api/train", '{"family": "gpt"}',
             "family: 'gpt' is not a family that trains live. Send 'textnet' or 'mlp'."),
        Case("an optimizer not offered", "/api/train", '{"family": "mlp", "optimizer": "rmsprop"}',
             "optimizer: 'rmsprop' is not an optimizer offered here. Send 'sgd' (plain SGD), 'momentum' (SGD with "
             "momentum 0.9) or 'adam' (Adam)."),
        Case("a learning rate of 0", "/api/train", '{"family": "textnet", "lr": 0}',
             "lr: 0.0 is not a learning rate. Send a number above 0 and at most 1000, e.g. 0.1."),
        Case("a learning rate that is not a number", "/api/train", '{"family": "textnet", "lr": NaN}',
             "lr: nan is not a learning rate. Send a number above 0 and at most 1000, e.g. 0.1."),
        Case("more epochs than the cap", "/api/train", '{"family": "textnet", "epochs": 100000}',
             "epochs: 100000 is outside 1 to 5000, the cap for the textnet. Send at most 5000 epochs (the shipped "
             "model took 500)."),
        Case("a width out of range", "/api/train", '{"family": "mlp", "width": 64}',
             "width: 64 is outside 1 to 16 (units in each of the two hidden layers). Send a width from 1 to 16."),
        Case("a negative seed", "/api/train", '{"family": "mlp", "seed": -1}',
             "seed: -1 is outside 0 to 4294967295. Send a whole number in that range."),
        Case("events further apart than the run", "/api/train", '{"family": "mlp", "epochs": 100, "every": 200}',
             "every: 200 is outside 1 to 100 (the epochs). Send a number of epochs between events from 1 to 100, or "
             "leave it out for 1."),
        Case("more live runs at once than the server allows", "/api/train", '{"family": "textnet"}',
             "4 live training runs are going, the most the server allows (setting LAYERWALK_TRAIN_RUNS = 4). Retry "
             "in 10 s.", 429, training=True),
    ],
    "Class sessions": [
        Case("an unknown or expired class code", "/api/class/ZZZZZZ", None,
             "There is no class with the code 'ZZZZZZ': it may have ended, or expired after 90 minutes without the "
             "lecturer. Check the code on the projector, or ask the lecturer to start a new class.", 404, "GET"),
        Case("a class started on a page of another site", "/api/class", '{"view": "https://elsewhere.example/"}',
             "view: 'https://elsewhere.example/' is not a page of this site. Send a path and query string starting "
             "with '/', e.g. '/models/tiny-gpt'."),
        Case("a class code of the wrong shape", "/api/class/abc/events", None,
             "'abc' is not a class code: codes have 6 letters and digits. Check the code on the projector.", 404,
             "GET"),
    ],
    "Pages": [
        Case("an unknown model's page", "/models/nope", None, UNKNOWN_MODEL, 404, "GET"),
        Case("a method a page does not take", "/", None, "POST is not allowed on /. Use GET; see /docs.", 405),
    ],
}
# fmt: on
CASES = [case for cases in SECTIONS.values() for case in cases]
