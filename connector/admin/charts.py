"""The dashboard's pictures: mail per hour and per day, arrival-to-ticket latency, quota, held-back mail."""
from __future__ import annotations

from connector.admin.chart_data import PER_USER_UNITS_PER_MINUTE, ChartData
from connector.admin.svg import Bar, bar_list, column_chart
from connector.store.chart_queries import LATENCY_BOUNDS

QUOTA_ALERT = 0.8     # a fifth of the limit left: the next busy pass may be refused
_SPANS = ("under 15 s", "15 s to 1 min", "1 to 5 min", "5 to 30 min", "30 min to 1 h", "1 to 4 h", "4 h to 1 day",
          "over 1 day")
assert len(_SPANS) == len(LATENCY_BOUNDS) + 1


def _plural(n: int, word: str, words: str = "") -> str:
    return f"{n:,} {word if n == 1 else words or word + 's'}"


def hourly_chart(data: ChartData, chart_id: str = "chart-hourly", whose: str = "") -> str:
    bars = [Bar(f"{h:%a %H}:00", n, axis=f"{h:%H}", tick=h.hour % 6 == 0) for h, n in data.hourly]
    total = sum(n for _, n in data.hourly)
    busiest = max(data.hourly, key=lambda item: item[1])
    summary = (f"{_plural(total, 'mail')} imported{whose} in the last 24 hours"
               + (f"; the busiest hour was {busiest[0]:%H}:00 UTC with {busiest[1]:,}." if total else "."))
    return column_chart(chart_id, "Mail imported per hour, last 24 hours (UTC)", summary, bars, ("Hour (UTC)", "Mails"))


def daily_chart(data: ChartData, chart_id: str = "chart-daily", whose: str = "") -> str:
    bars = [Bar(f"{d:%a %d %b}", n, axis=f"{d:%a %d}") for d, n in data.daily]
    total = sum(n for _, n in data.daily)
    summary = (f"{_plural(total, 'mail')} imported{whose} over the last 7 days, "
               f"{data.daily[-1][1]:,} of them today (UTC).")
    return column_chart(chart_id, "Mail imported per day, last 7 days (UTC)", summary, bars, ("Day (UTC)", "Mails"))


def latency_chart(counts: list[int]) -> str:
    total = sum(counts)
    fast = sum(counts[:2])
    bars = [Bar(span, n, note=f"{round(100 * n / total)}%" if total else "") for span, n in zip(_SPANS, counts)]
    summary = (f"{_plural(total, 'mail')} became tickets in the last 24 hours; {round(100 * fast / total)}% "
               f"within a minute of reaching Gmail, {_median(counts)}." if total
               else "No mail became a ticket in the last 24 hours.")
    return bar_list("chart-latency", "Time from arrival in Gmail to the ticket, last 24 hours", summary, bars,
                    ("Arrival to ticket", "Mails"))


_WITHIN = ("15 seconds", "a minute", "5 minutes", "30 minutes", "an hour", "4 hours", "a day")


def _median(counts: list[int]) -> str:
    """The span holding the middle mail, in words: "half of them within 5 minutes"."""
    half, seen = sum(counts) / 2, 0
    for within, n in zip(_WITHIN, counts):
        seen += n
        if seen >= half:
            return f"half of them within {within}"
    return "half of them after more than a day"


def quota_chart(quota: list[tuple[str, int]] | None, active: int) -> str:
    title = "Gmail API units used in the last minute, against the per-user limit"
    limit = PER_USER_UNITS_PER_MINUTE
    if quota is None:
        return bar_list("chart-quota", title, "Not measured: API units are counted by the running daemon, "
                        "and this page is not served by one.", [], ("Inbox", "Units"))
    bars = []
    for address, units in quota:
        share = units / limit
        near = share >= QUOTA_ALERT
        bars.append(Bar(address, units, note=("near the limit: " if near else "") + f"{share:.0%} of {limit:,}", alert=near))
    if not bars:
        summary = f"No inbox called Gmail in the last minute (limit {limit:,} units per inbox per minute)."
    else:
        shown = "" if active <= len(bars) else f" (the {len(bars)} busiest of {active:,} shown)"
        summary = (f"{_plural(active, 'inbox', 'inboxes')} called Gmail in the last minute{shown}; the busiest used "
                   f"{quota[0][1]:,} of the {limit:,} units Google allows each inbox per minute.")
    return bar_list("chart-quota", title, summary, bars, ("Inbox", "Units, last minute"), limit=limit,
                    limit_label=f"limit {limit:,}")


def held_back_chart(held_back: dict[str, int]) -> str:
    total = sum(held_back.values())
    ordered = sorted(held_back.items(), key=lambda item: (-item[1], item[0]))
    bars = [Bar(kind.replace("_", " "), n, note=f"{round(100 * n / total)}%") for kind, n in ordered]
    summary = (f"{_plural(total, 'mail')} held back, most often as {ordered[0][0].replace('_', ' ')} ({ordered[0][1]:,})."
               if total else "Nothing is held back.")
    return bar_list("chart-held", "Held-back mail by reason", summary, bars, ("Reason", "Mails"))


def charts_section(data: ChartData) -> str:
    """All five charts in a responsive grid (two columns on a desktop, one on a phone)."""
    figures = [hourly_chart(data), daily_chart(data), latency_chart(data.latency or [0] * len(_SPANS)),
               quota_chart(data.quota, data.quota_inboxes), held_back_chart(data.held_back)]
    return '<div class="charts">' + "".join(figures) + "</div>"
