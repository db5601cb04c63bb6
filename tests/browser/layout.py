"""Reusable layout checks on a Playwright page: is the page wider than its viewport, does any text of a plot overlap
another or reach outside its plot.

The plot checks read every `.js-plotly-plot` as drawn: the text Plotly puts in its SVG (tick labels, axis titles, the
title, annotations, the colour bar's title and ticks, the numbers on the cells or bars), not the hover labels, which
appear only while a pointer rests on the plot. A text is visible when it has characters, a box of some size, and no
`display: none`, `visibility: hidden` or zero opacity on it or an ancestor.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

# What counts as overlapping or clipped: more than this many pixels, so that boxes that merely touch (a glyph's box is
# a little taller than the glyph) pass.
TOLERANCE = 1.0

# The texts of each plot in the page, each as {plot, kind, text, corners, box}, and each plot's SVG box (`frame`). A
# text's `corners` are its box's four corners on the screen, turned as the text is (rotated tick labels, a sideways
# colour bar title); `box` is [left, top, right, bottom] around them. The kind says where in Plotly's tree the text
# sits, so that a failure reads "x tick '3 dog'".
_TEXTS = """() => {
  const KINDS = [
    [".xtick, .x2tick, .x3tick, .x4tick", "x tick"], [".ytick, .y2tick, .y3tick, .y4tick", "y tick"],
    [".g-gtitle", "title"], [".g-xtitle, .g-x2title, .g-x3title, .g-x4title", "x axis title"],
    [".g-ytitle, .g-y2title, .g-y3title, .g-y4title", "y axis title"],
    [".cbtitle", "colour bar title"], [".cbaxis", "colour bar tick"],
    [".colorbar", "colour bar text"], [".annotation", "annotation"], [".textpoint", "value"], [".hm", "cell"],
    [".heatmaplayer", "cell"], [".bartext", "bar value"],
  ];
  const visible = (node, svg) => {
    for (let n = node; n && n !== svg; n = n.parentElement) {
      const style = getComputedStyle(n);
      if (style.display === "none" || style.visibility === "hidden" || Number(style.opacity) === 0) return false;
    }
    return true;
  };
  const name = (plot, i) => {
    const head = plot.dataset.head ? ` head ${plot.dataset.head}` : "";
    return plot.id || (plot.dataset.hook && `${plot.dataset.hook}${head}`) || `plot ${i}`;
  };
  return [...document.querySelectorAll(".js-plotly-plot")].map((plot, i) => {
    const svgs = [...plot.querySelectorAll("svg.main-svg")];
    if (!svgs.length || !plot.getClientRects().length) return null;
    const frame = svgs[0].getBoundingClientRect();
    const texts = [];
    for (const svg of svgs) {
      for (const text of svg.querySelectorAll("text")) {
        if (text.closest(".hoverlayer, .modebar")) continue;
        const content = text.textContent.trim();
        if (!content || !visible(text, svg)) continue;
        const b = text.getBBox();
        if (b.width < 0.5 || b.height < 0.5) continue;
        const m = text.getScreenCTM();
        const corners = [[b.x, b.y], [b.x + b.width, b.y], [b.x + b.width, b.y + b.height], [b.x, b.y + b.height]]
          .map(([x, y]) => [m.a * x + m.c * y + m.e, m.b * x + m.d * y + m.f]);
        const xs = corners.map((c) => c[0]);
        const ys = corners.map((c) => c[1]);
        const kind = (KINDS.find(([selector]) => text.closest(selector)) ?? [null, "text"])[1];
        texts.push({ kind, text: content, corners,
          box: [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)] });
      }
    }
    const areas = [...plot.querySelectorAll(".draglayer .nsewdrag")].map((area) => {
      const r = area.getBoundingClientRect();
      return [r.left, r.top, r.right, r.bottom];
    });
    return { plot: name(plot, i), frame: [frame.left, frame.top, frame.right, frame.bottom], areas, texts };
  }).filter(Boolean);
}"""


def plot_texts(page: Page) -> list[dict[str, Any]]:
    """Every visible plot in the page: its name, its SVG's box and its texts (kind, text, box)."""
    plots: list[dict[str, Any]] = page.evaluate(_TEXTS)
    return plots


def page_overflow(page: Page) -> int:
    """How many pixels the document is wider than the viewport (0 when it fits)."""
    overflow: int = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    return overflow


def _describe(text: dict[str, Any]) -> str:
    return f"{text['kind']} {text['text']!r}"


Point = tuple[float, float]
# The texts that sit around a plot area, never on it (values on cells and bars, and annotations, may).
OUTSIDE = {"x tick", "y tick", "title", "x axis title", "y axis title", "colour bar title", "colour bar tick"}


def _penetration(a: list[Point], b: list[Point]) -> float:
    """How deep two convex quadrilaterals (turned boxes) reach into each other: the least overlap of their shadows
    on the normals of their edges (separating axes); zero or less when they do not meet."""
    depth = float("inf")
    for quad in (a, b):
        for (x0, y0), (x1, y1) in zip(quad, quad[1:] + quad[:1], strict=True):
            length = ((x1 - x0) ** 2 + (y1 - y0) ** 2) ** 0.5
            if length == 0:
                continue
            nx, ny = (y0 - y1) / length, (x1 - x0) / length
            shadow_a = [nx * x + ny * y for x, y in a]
            shadow_b = [nx * x + ny * y for x, y in b]
            depth = min(depth, min(max(shadow_a), max(shadow_b)) - max(min(shadow_a), min(shadow_b)))
    return depth


def overlapping_labels(page: Page) -> list[str]:
    """Each pair of texts in one plot whose boxes (turned as the texts are) reach more than TOLERANCE px into each
    other, and each text that belongs outside the plot area (OUTSIDE) but reaches into it, described."""
    found = []
    for plot in plot_texts(page):
        texts = plot["texts"]
        for i, a in enumerate(texts):
            corners_a = [(x, y) for x, y in a["corners"]]
            for b in texts[i + 1 :]:
                if a["box"][2] <= b["box"][0] or b["box"][2] <= a["box"][0]:
                    continue  # apart left to right: most pairs, skipped cheaply
                if a["box"][3] <= b["box"][1] or b["box"][3] <= a["box"][1]:
                    continue
                depth = _penetration(corners_a, [(x, y) for x, y in b["corners"]])
                if depth > TOLERANCE:
                    found.append(f"{plot['plot']}: {_describe(a)} overlaps {_describe(b)} by {depth:.0f} px")
        for text in texts:
            if text["kind"] not in OUTSIDE:
                continue
            for left, top, right, bottom in plot["areas"]:
                area = [(left, top), (right, top), (right, bottom), (left, bottom)]
                depth = _penetration([(x, y) for x, y in text["corners"]], area)
                if depth > TOLERANCE:
                    found.append(f"{plot['plot']}: {_describe(text)} reaches {depth:.0f} px into the plot area")
    return found


def clipped_labels(page: Page) -> list[str]:
    """Each text whose box reaches more than TOLERANCE px outside its plot's SVG, described with how far."""
    found = []
    for plot in plot_texts(page):
        left, top, right, bottom = plot["frame"]
        for text in plot["texts"]:
            x0, y0, x1, y1 = text["box"]
            out = {"left": left - x0, "top": top - y0, "right": x1 - right, "bottom": y1 - bottom}
            sides = [f"{side} by {px:.0f} px" for side, px in out.items() if px > TOLERANCE]
            if sides:
                found.append(f"{plot['plot']}: {_describe(text)} is cut at the {', '.join(sides)}")
    return found


def covered_controls(page: Page, selector: str = ".controls input, .controls select, .controls button") -> list[str]:
    """Each visible control (in `selector`) that something else is drawn over at its centre or a corner, as the page
    is now scrolled: a fixed toolbar over a sticky bar's input, say. Named by id and by what covers it."""
    covered: list[str] = page.evaluate(
        """(selector) => [...document.querySelectorAll(selector)].flatMap((control) => {
      const r = control.getBoundingClientRect();
      if (!r.width || !r.height || r.bottom < 0 || r.top > innerHeight) return [];
      const points = [[r.left + r.width / 2, r.top + r.height / 2], [r.left + 2, r.top + 2],
        [r.right - 2, r.top + 2], [r.left + 2, r.bottom - 2], [r.right - 2, r.bottom - 2]];
      const over = points.map(([x, y]) => document.elementFromPoint(x, y))
        .find((top) => top && !control.contains(top) && !top.contains(control));
      if (!over) return [];
      const name = (e) => e.tagName.toLowerCase() + (e.id ? `#${e.id}` : "") + (e.className ? `.${e.className}` : "");
      return [`${name(control)} is under ${name(over)}`];
    })""",
        selector,
    )
    return covered


def _walk_target_box(page: Page, target: str) -> dict[str, float]:
    """Where a walk's target (the element with id `target`) is on screen: its `top` and `bottom`, the sticky bar's
    bottom (`below`), the top of the walk's fixed bar, at most 5rem tall (`above`), and its top in the page."""
    box: dict[str, float] = page.evaluate(
        """(target) => {
      const r = document.getElementById(target).getBoundingClientRect();
      const sticky = document.querySelector('.controls').getBoundingClientRect();
      const rem = parseFloat(getComputedStyle(document.documentElement).fontSize);
      return {top: r.top, bottom: r.bottom, below: sticky.bottom, above: innerHeight - 5 * rem, page: r.top + scrollY};
    }""",
        target,
    )
    return box


def misplaced_walk_targets(page: Page, family: str) -> list[str]:
    """Steps a page's walk (static/captions/<family>.json) from its first stage with the clicker's key and says each
    stage whose target is not shown whole between the sticky bar and the walk's bar (the sticky bar, when it is the
    target, is itself on top), and a walk that goes back up the page."""
    captions = Path(__file__).parents[2] / "static" / "captions" / f"{family}.json"
    stages = json.loads(captions.read_text(encoding="utf-8"))["stages"]
    found, tops = [], []
    for n, stage in enumerate(stages):
        if n:
            page.keyboard.press("ArrowRight")
        expect(page.locator("#walk")).to_have_attribute("data-stage", str(n))
        target = stage["target"]
        box = _walk_target_box(page, target)
        sticky = page.evaluate("(target) => !!document.getElementById(target).closest('.controls')", target)
        if not sticky and box["top"] < box["below"] - TOLERANCE:
            found.append(f"stage {n} ({target}) is under the sticky bar: top {box['top']:.0f} < {box['below']:.0f}")
        if box["bottom"] > box["above"]:
            under = f"bottom {box['bottom']:.0f} > {box['above']:.0f}"
            found.append(f"stage {n} ({target}) is under the walk's bar: {under}")
        tops.append(box["page"])
    if tops != sorted(tops):
        found.append(f"the walk goes back up the page: its targets' tops are {[round(t) for t in tops]}")
    return found
