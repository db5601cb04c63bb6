"""Screenshots of every page's walk, for docs/screenshots: each model page at a projector's screen in presentation
mode (1920×1080), a laptop's (1366×768) and a phone's (390×844), at the stages that show each kind of panel.

Starts the server with the production command on a free loopback port, drives the system Chromium (headless, through
Playwright), opens each page at a stage (`?stage=n`), waits for its first drawn state and saves the screen as JPEG.
Writes docs/screenshots/README.md, the index. Run it with `make screenshots` after a change to what the pages show.
"""

from __future__ import annotations

import io
from pathlib import Path

import httpx
from browser_bench import CHROMIUM_FLAGS, chromium_path
from loopback import HOST, serve
from PIL import Image
from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).parents[1]
OUT = ROOT / "docs" / "screenshots"
MAX_WIDTH = 1440  # px: the repository keeps its pictures small
SCREENS = {"projector": (1920, 1080, "present=1"), "laptop": (1366, 768, ""), "phone": (390, 844, "")}
# Each page's stages worth a picture (by the walk's labels; the MLP and text net by their walk's number), and on
# which screens: every one on the projector, the main ones on a laptop and a phone.
TRANSFORMER_STAGES = {
    "tiny-gpt": ["sum", "layer norm", "Q, K, V", "q·kᵀ", "÷√d, mask", "softmax", "every head", "heads",
                 "attention out", "residual", "expand", "GELU", "logits", "next word"],
    "tiny-translator": ["cross q·kᵀ", "cross softmax", "cross every head", "masked softmax", "next word"],
    "shakespeare-char": ["softmax", "every head", "next word"],
    "minilm-l6": ["embeddings", "softmax", "every head"],
}  # fmt: skip
MAIN = {"q·kᵀ", "softmax", "every head", "next word", "cross softmax"}
WALKS = {"sqrt-mlp-16x16": [0, 3, 6], "textnet-2d-sgd": [1, 4, 7]}


def _shoot(page: Page, base: str, model: str, stage: int, screen: str) -> str:
    width, height, query = SCREENS[screen]
    page.set_viewport_size({"width": width, "height": height})
    page.goto(f"{base}/models/{model}?stage={stage}{'&' + query if query else ''}")
    page.wait_for_selector("body[data-rendered]", state="attached")
    page.wait_for_function(  # the stage drawn: the transformers say it in their state, the others in their walk
        f"() => JSON.parse(document.body.dataset.rendered).stage === {stage}"
        f" || document.getElementById('walk')?.dataset.stage === '{stage}'"
    )
    page.wait_for_timeout(300)  # the walk scrolls its target into view
    page.evaluate("() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")
    if page.locator("#stage").count():  # a transformer's walk: its panel is the screen
        page.evaluate("() => document.getElementById('stage').scrollIntoView({block: 'start'})")
    name = f"{model}-{stage:02d}-{screen}.jpg"
    shot: Image.Image = Image.open(io.BytesIO(page.screenshot()))
    if shot.width > MAX_WIDTH:  # a projector's screen, kept readable at three quarters of its size
        shot = shot.resize((MAX_WIDTH, round(shot.height * MAX_WIDTH / shot.width)), Image.Resampling.LANCZOS)
    shot.convert("RGB").save(OUT / name, quality=70, optimize=True)
    return name


def _links(shots: list[str]) -> str:
    return ", ".join(f"[{shot.rsplit('-', 1)[1].removesuffix('.jpg')}]({shot})" for shot in shots)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.glob("*.jpg"):
        old.unlink()
    index = [
        "# Screenshots",
        "",
        "Each page's walk as `make screenshots` draws it (scripts/screenshots.py): a projector in presentation mode",
        "(1920×1080), a laptop (1366×768), a phone (390×844).",
        "",
    ]
    with serve("screenshots") as server, sync_playwright() as playwright:
        base = f"http://{HOST}:{server.port}"
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS)
        page = browser.new_page()
        for model, labels in TRANSFORMER_STAGES.items():
            stages = [s["label"] for s in httpx.get(f"{base}/api/models/{model}").json()["stages"]]
            index += [f"## {model}", ""]
            for label in labels:
                n = stages.index(label)
                screens = [screen for screen in SCREENS if screen == "projector" or label in MAIN]
                shots = [_shoot(page, base, model, n, screen) for screen in screens]
                index.append(f"- stage {n + 1}, {label}: {_links(shots)}")
            index.append("")
        for model, numbers in WALKS.items():
            index += [f"## {model}", ""]
            for n in numbers:
                shots = [_shoot(page, base, model, n, screen) for screen in SCREENS]
                index.append(f"- walk step {n + 1}: {_links(shots)}")
            index.append("")
        browser.close()
    (OUT / "README.md").write_text("\n".join(index), encoding="utf-8")
    print(f"screenshots: {len(list(OUT.glob('*.jpg')))} written to {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
