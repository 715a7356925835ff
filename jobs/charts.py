"""The weekly chart: a PNG of activities per rep, drawn with matplotlib's Agg backend.

The picture holds no words, only rep ids and numbers, so it reads the same in every locale
(and needs no CJK font on the server); its title travels with the upload, from templates/.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")

from matplotlib.figure import Figure

#: matplotlib's text layout is not thread-safe; charts are drawn one at a time.
_LOCK = threading.Lock()
MAX_BARS = 30


def activity_chart(bars: Sequence[tuple[str, int]]) -> bytes:
    """A horizontal bar per rep (label, activities), busiest at the top, as PNG bytes."""
    shown = list(bars)[:MAX_BARS]
    labels = [label for label, _ in shown][::-1] or ["—"]
    values = [value for _, value in shown][::-1] or [0]
    with _LOCK:
        figure = Figure(figsize=(6.4, max(1.6, 0.35 * len(labels) + 0.8)), dpi=100)
        axes = figure.add_subplot()
        container = axes.barh(labels, values, color="#4A154B")
        axes.bar_label(container, padding=3)
        axes.set_xlim(0, max(values) * 1.15 + 1)
        axes.spines[["top", "right"]].set_visible(False)
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
    return buffer.getvalue()
