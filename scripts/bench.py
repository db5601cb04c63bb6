"""`make bench`: start the server as in production, load it on loopback, print ratios against /healthz.

Each endpoint gets the same bounded load (32 keep-alive clients for 10 s by default) from one asyncio process
speaking plain HTTP/1.1, so the client costs little next to the server. The load generator shares the machine's
cores with the server: compare the ratios measured in one run, not absolute figures across machines.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).parents[1]
HOST = "127.0.0.1"


@dataclass
class Result:
    name: str
    requests: int
    errors: int
    seconds: float
    latencies_ms: list[float]
    response_bytes: int

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def get(path: str) -> Callable[[], bytes]:
    request = f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\n\r\n".encode()
    return lambda: request


def post_json(path: str, body: Callable[[], dict[str, object]]) -> Callable[[], bytes]:
    def make() -> bytes:
        payload = json.dumps(body()).encode()
        head = f"POST {path} HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: application/json\r\n"
        return head.encode() + f"Content-Length: {len(payload)}\r\n\r\n".encode() + payload

    return make


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, int]:
    status = int((await reader.readline()).split()[1])
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        if name.lower() == b"content-length":
            length = int(value)
    await reader.readexactly(length)
    return status, length


async def _client(port: int, make: Callable[[], bytes], stop_at: float, result: Result) -> None:
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            writer.write(make())
            status, length = await _read_response(reader)
            result.latencies_ms.append((time.perf_counter() - started) * 1000)
            result.requests += 1
            result.errors += status != 200
            result.response_bytes = length
    finally:
        writer.close()


async def load(port: int, name: str, make: Callable[[], bytes], clients: int, seconds: float) -> Result:
    result = Result(name, 0, 0, seconds, [], 0)
    started = time.perf_counter()
    stop_at = started + seconds
    await asyncio.gather(*(_client(port, make, stop_at, result) for _ in range(clients)))
    result.seconds = time.perf_counter() - started
    return result


def start_server(port: int) -> tuple[subprocess.Popen[bytes], float]:
    """The production command; returns the process and the seconds until /healthz answered 200."""
    command = [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory", "--host", HOST]
    started = time.perf_counter()
    process = subprocess.Popen([*command, "--port", str(port), "--no-access-log"], cwd=ROOT)
    while True:
        try:
            with socket.create_connection((HOST, port), timeout=0.2) as s:
                s.sendall(get("/healthz")())
                if b" 200 " in s.recv(1024).split(b"\r\n")[0]:
                    return process, time.perf_counter() - started
        except OSError:
            pass
        if process.poll() is not None or time.perf_counter() - started > 30:
            process.kill()
            raise SystemExit("bench: the server did not start")
        time.sleep(0.02)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=32, help="concurrent keep-alive connections")
    parser.add_argument("--seconds", type=float, default=10.0, help="load duration per endpoint")
    args = parser.parse_args()

    with socket.socket() as s:
        s.bind((HOST, 0))
        port = int(s.getsockname()[1])
    process, ready_s = start_server(port)
    rng = random.Random(0)
    words = ["hello", "world", "cat", "dog", "!", "silly", "cute"]

    def slider() -> dict[str, object]:  # a student dragging the x slider
        return {"input": round(rng.uniform(0.0, 10.0), 2)}

    def temperature() -> dict[str, object]:  # ... or the temperature slider on a word
        return {"input": rng.choice(words), "temperature": round(rng.uniform(0.0, 5.0), 3)}

    def sampling() -> dict[str, object]:  # ... or "sample again"
        return {"prompt": rng.choice(words), "temperature": 1.5, "seed": rng.randrange(1000)}

    prompts = ["the dogs that chased the cat", "the queen met the king and", "dog bites man ."]

    def typing() -> dict[str, object]:  # ... or a prompt on the GPT page
        return {"input": rng.choice(prompts), "temperature": round(rng.uniform(0.1, 2.0), 2)}

    sixteen: dict[str, object] = {"input": "the dog chased the cat . who was chased ? the cat . the dog ."}

    sources = ["the black cat sleeps .", "a small car sees the green flowers .", "the white houses fall ."]

    def translating() -> dict[str, object]:  # ... or a sentence on the translator page
        return {"input": rng.choice(sources), "target": rng.choice(["", "le", "les petites"])}

    def decoding() -> dict[str, object]:  # ... or "translate"
        return {"prompt": rng.choice(sources), "temperature": 0}

    cases = [
        ("GET /healthz (baseline)", get("/healthz")),
        ("POST forward sqrt-mlp-2x2", post_json("/api/models/sqrt-mlp-2x2/forward", slider)),
        ("POST forward sqrt-mlp-16x16", post_json("/api/models/sqrt-mlp-16x16/forward", slider)),
        ("GET detail sqrt-mlp-16x16", get("/api/models/sqrt-mlp-16x16")),
        ("POST forward textnet-4d-adam", post_json("/api/models/textnet-4d-adam/forward", temperature)),
        ("POST generate textnet-2d-sgd", post_json("/api/models/textnet-2d-sgd/generate", sampling)),
        ("POST forward tiny-gpt", post_json("/api/models/tiny-gpt/forward", typing)),
        ("POST forward tiny-gpt, 16 tokens", post_json("/api/models/tiny-gpt/forward", lambda: sixteen)),
        ("POST forward tiny-translator", post_json("/api/models/tiny-translator/forward", translating)),
        ("POST generate tiny-translator", post_json("/api/models/tiny-translator/generate", decoding)),
    ]
    try:
        results = [asyncio.run(load(port, name, make, args.clients, args.seconds)) for name, make in cases]
    finally:
        process.terminate()
        process.wait(timeout=10)

    baseline = results[0].rps
    print(f"\nserver ready {ready_s:.2f} s after start; {args.clients} clients × {args.seconds:g} s per endpoint\n")
    print("| endpoint | req/s | ratio to healthz | p50 ms | p99 ms | errors | response bytes |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in results:
        print(
            f"| {r.name} | {r.rps:,.0f} | {r.rps / baseline:.2f} | {statistics.median(r.latencies_ms):.1f} "
            f"| {r.percentile(99):.1f} | {r.errors} | {r.response_bytes:,} |"
        )
    return 1 if any(r.errors for r in results) else 0


if __name__ == "__main__":
    raise SystemExit(main())
