"""Accessible inline SVG bar charts: a named image, values written on the bars, and the same numbers as a table."""
from __future__ import annotations

from dataclasses import dataclass
from html import escape

WIDTH = 640          # viewBox units; the page scales the picture to its column
PLOT_TOP, PLOT_LEFT, PLOT_RIGHT = 28, 44, 12
COLUMN_HEIGHT = 150  # plot height of a column chart
ROW_HEIGHT = 52      # one labelled bar of a bar list


@dataclass(frozen=True)
class Bar:
    label: str                 # what the bar counts: an hour, a day, a reason, an inbox
    value: int
    note: str = ""             # words beside the number ("82% of the limit"), so colour never carries it alone
    alert: bool = False        # drawn in the warning colour, and `note` says why
    tick: bool = True          # column charts: whether the label is written under the axis on every screen
    axis: str = ""             # column charts: a shorter label under the axis ("14" for "Tue 14:00")


def _frame(chart_id: str, title: str, summary: str, svg_body: str, height: int, table: str, kind: str) -> str:
    # role="img" with <title>/<desc> names the picture; the table under it carries every value as text.
    return (f'<figure class="chart" id="{chart_id}"><figcaption id="{chart_id}-cap">{escape(title)}</figcaption>'
            f'<p class="summary" id="{chart_id}-sum">{escape(summary)}</p>'
            f'<svg class="{kind}" role="img" viewBox="0 0 {WIDTH} {height}" aria-labelledby="{chart_id}-t {chart_id}-d" '
            f'xmlns="http://www.w3.org/2000/svg"><title id="{chart_id}-t">{escape(title)}</title>'
            f'<desc id="{chart_id}-d">{escape(summary)}</desc>{svg_body}</svg>'
            f"<details><summary>The numbers as a table</summary>{table}</details></figure>")


def _table(title: str, heads: tuple[str, str], bars: list[Bar]) -> str:
    rows = "".join(f'<tr><th scope="row">{escape(b.label)}</th><td class="num">{b.value:,}</td>'
                   f"<td>{escape(b.note)}</td></tr>" for b in bars)
    return (f'<div class="table-wrap"><table><caption>{escape(title)}</caption><thead><tr>'
            f'<th scope="col">{escape(heads[0])}</th><th scope="col" class="num">{escape(heads[1])}</th>'
            f'<th scope="col">Note</th></tr></thead><tbody>{rows}</tbody></table></div>')


def _nice_top(value: int) -> int:
    """The axis maximum: 1, 2 or 5 times a power of ten, at least `value` (and at least 1)."""
    magnitude = 1
    while True:
        for step in (1, 2, 5):
            if step * magnitude >= value:
                return step * magnitude
        magnitude *= 10


def column_chart(chart_id: str, title: str, summary: str, bars: list[Bar], heads: tuple[str, str]) -> str:
    """Vertical bars over time (hours, days): one column per bar, its value above it."""
    height = PLOT_TOP + COLUMN_HEIGHT + 46
    top = _nice_top(max((b.value for b in bars), default=0))
    base = PLOT_TOP + COLUMN_HEIGHT
    pitch = (WIDTH - PLOT_LEFT - PLOT_RIGHT) / max(1, len(bars))
    peak = max(range(len(bars)), key=lambda i: bars[i].value, default=None)
    parts = [f'<line class="grid" x1="{PLOT_LEFT}" y1="{PLOT_TOP}" x2="{WIDTH - PLOT_RIGHT}" y2="{PLOT_TOP}"/>',
             f'<text x="{PLOT_LEFT - 6}" y="{PLOT_TOP + 4}" text-anchor="end">{top:,}</text>',
             f'<text x="{PLOT_LEFT - 6}" y="{base + 4}" text-anchor="end">0</text>']
    for i, bar in enumerate(bars):
        x = PLOT_LEFT + i * pitch
        h = 0 if top == 0 else round(COLUMN_HEIGHT * bar.value / top, 1)
        middle = round(x + pitch / 2, 1)
        css = "bar alert" if bar.alert else "bar"
        parts.append(f'<rect class="{css}" x="{round(x + pitch * 0.15, 1)}" y="{round(base - h, 1)}" '
                     f'width="{round(pitch * 0.7, 1)}" height="{h}"/>')
        if bar.value:
            # On a phone only the peak keeps its number: the table beneath has them all.
            minor = "" if i == peak else ' class="minor"'
            parts.append(f'<text{minor} x="{middle}" y="{round(base - h - 4, 1)}" text-anchor="middle">{bar.value:,}</text>')
        tick = "" if bar.tick else ' class="minor"'
        parts.append(f'<text{tick} x="{middle}" y="{base + 18}" text-anchor="middle">{escape(bar.axis or bar.label)}</text>')
    parts.append(f'<line class="axis" x1="{PLOT_LEFT}" y1="{base}" x2="{WIDTH - PLOT_RIGHT}" y2="{base}"/>')
    return _frame(chart_id, title, summary, "".join(parts), height, _table(title, heads, bars), "columns")


def bar_list(chart_id: str, title: str, summary: str, bars: list[Bar], heads: tuple[str, str],
             limit: int | None = None, limit_label: str = "") -> str:
    """Horizontal bars, one labelled row each; `limit` draws a dashed line all bars are measured against."""
    if not bars:
        return (f'<figure class="chart" id="{chart_id}"><figcaption>{escape(title)}</figcaption>'
                f'<p class="summary">{escape(summary)}</p></figure>')
    left, right = 8, WIDTH - 8
    first = PLOT_TOP + (14 if limit else 0)      # room above the first row for the limit's label
    height = first + ROW_HEIGHT * len(bars) + 8
    top = max([b.value for b in bars] + [limit or 0, 1])
    scale = (right - left) / top
    parts = []
    for i, bar in enumerate(bars):
        y = first + i * ROW_HEIGHT
        width = round(bar.value * scale, 1)
        css = "bar alert" if bar.alert else "bar"
        words = f"{bar.value:,}" + (f" · {bar.note}" if bar.note else "")
        parts += [f'<text x="{left}" y="{y + 8}">{escape(bar.label)}</text>',
                  f'<text x="{right}" y="{y + 8}" text-anchor="end">{escape(words)}</text>',
                  f'<rect class="track" x="{left}" y="{y + 16}" width="{right - left}" height="18"/>',
                  f'<rect class="{css}" x="{left}" y="{y + 16}" width="{max(width, 1.5 if bar.value else 0)}" height="18"/>']
    if limit:
        x = round(left + limit * scale, 1)
        parts += [f'<line class="limit" x1="{x}" y1="{first - 8}" x2="{x}" y2="{height - 4}"/>',
                  f'<text x="{x - 4}" y="{first - 16}" text-anchor="end">{escape(limit_label)}</text>']
    return _frame(chart_id, title, summary, "".join(parts), height, _table(title, heads, bars), "rows")
