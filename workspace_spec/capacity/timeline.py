"""The picture of a probe run: a timeline, one row per workspace, one coloured bar per phase, on the probe's
clock from its start; a workspace that failed ends in a red cross (its reason on hover). Plain SVG, written by
hand: no plotting library, readable in a browser and in the Allure report."""

from __future__ import annotations

import math
from collections.abc import Sequence
from xml.sax.saxutils import escape

from workspace_spec.capacity.trace import MEANING, PHASES, Trace

COLOURS = {
    "queued": "#bdbdbd",
    "build": "#4e79a7",
    "agent": "#f28e2b",
    "app": "#59a14f",
    "ssh": "#76b7b2",
    "browser": "#b07aa1",
    "delete": "#9c755f",
}
ROW, BAR, LABEL, WIDTH, TOP = 18, 12, 150, 640, 46


def _step(span: float) -> float:
    """A round tick interval giving about 5 to 10 ticks over `span` seconds."""
    raw = max(span, 1e-3) / 8
    power = 10.0 ** math.floor(math.log10(raw))
    return next(power * m for m in (1, 2, 5, 10) if power * m >= raw)


def svg(traces: Sequence[Trace], title: str) -> str:
    """The timeline of `traces` in the order they were created, its origin the earliest create request."""
    origin = min((t.create_sent for t in traces if t.create_sent is not None), default=0.0)
    begun = sorted(traces, key=lambda trace: (trace.create_sent is None, trace.create_sent or 0.0, trace.index))
    rows = [(trace, trace.bars(origin)) for trace in begun]
    end = max((stop for _, bars in rows for _, _, stop in bars), default=1.0) or 1.0
    scale = WIDTH / end
    height = TOP + ROW * len(rows) + 30
    used = [phase for phase in PHASES if any(phase == bar[0] for _, bars in rows for bar in bars)]
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{LABEL + WIDTH + 20}" height="{height}" '
        'font-family="sans-serif" font-size="11">',
        f"<title>{escape(title)}</title>",
        f'<text x="4" y="14" font-size="13" font-weight="bold">{escape(title)}</text>',
    ]
    for n, phase in enumerate(used):  # the legend
        x: float = LABEL + n * 90
        out.append(f'<rect x="{x}" y="22" width="10" height="10" fill="{COLOURS[phase]}"/>')
        out.append(f'<text x="{x + 14}" y="31"><title>{escape(MEANING[phase])}</title>{phase}</text>')
    step = _step(end)
    ticks = int(end // step) + 1
    axis = TOP + ROW * len(rows)
    for n in range(ticks):
        x = LABEL + n * step * scale
        out.append(f'<line x1="{x:.1f}" y1="{TOP - 4}" x2="{x:.1f}" y2="{axis}" stroke="#eeeeee"/>')
        out.append(f'<text x="{x:.1f}" y="{axis + 14}" text-anchor="middle">{n * step:g} s</text>')
    for row, (trace, bars) in enumerate(rows):
        y = TOP + row * ROW
        out.append(f'<text x="4" y="{y + BAR - 2}">{escape(trace.label)}</text>')
        for phase, start, stop in bars:
            x, w = LABEL + start * scale, max((stop - start) * scale, 0.5)
            tip = f"{phase}: {stop - start:.2f} s"
            out.append(
                f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{BAR}" fill="{COLOURS[phase]}">'
                f"<title>{escape(tip)}</title></rect>"
            )
        if trace.failures:
            last = max((stop for _, _, stop in bars), default=0.0)
            x = LABEL + last * scale + 6
            reasons = "; ".join(f"{f.phase}: {f.kind}: {f.reason}" for f in trace.failures)
            out.append(
                f'<text x="{x:.1f}" y="{y + BAR - 1}" fill="#d62728" font-weight="bold">'
                f"<title>{escape(reasons)}</title>✗</text>"
            )
    out.append("</svg>")
    return "\n".join(out) + "\n"
