"""The summary table's rows -- what each row counts and its unit -- shared by the terminal
table (``liqsim replay`` / ``compare``) and the HTML report (``engine.outputs.report``).
"""
from __future__ import annotations

from fractions import Fraction


#: (summary key, row label, what the row counts and its unit -- the table's legend).
#: ``{q}`` is the row's currency (``row_label``): the money's, or the price's for
#: ``PRICE_ROWS``.
SUMMARY_ROWS = (
    ("amplification", "amplification",
     "the book's drawdown / the index's (read it with trades and one-sided seconds: a frozen "
     "market is not a calm one)"),
    ("book_drawdown_pct", "book drawdown %", "start price to lowest trade after the event start"),
    ("index_drawdown_pct", "index drawdown %", "the index from the event start to its low"),
    ("min_price", "lowest trade ({q})", "lowest trade price after the event start"),
    ("trades_count", "trades", "trades printed in the whole run"),
    ("one_sided_seconds", "one-sided book s", "run seconds whose book had no bid or no ask"),
    ("max_mark_index_gap_pct", "max mark-index gap %", "largest |mark - index| / index"),
    ("liquidations_count", "liquidations", "positions liquidated (units, once each)"),
    ("liquidation_orders", "liquidation orders", "orders sent to the book for them"),
    ("liquidations_notional", "liquidated notional ({q})",
     "each liquidated lot once: in the book + off it"),
    ("liquidation_fill_ratio", "filled in the book", "share of the liquidated notional"),
    ("liquidations_off_book_notional", "closed off the book ({q})",
     "taken over by the fund or backstop, or ADL'd"),
    ("fund_offload_notional", "fund sold back in the book ({q})",
     "the fund's offload of what it took over"),
    ("liquidations_through_book_share", "reached the book",
     "share of the liquidated notional: filled at once or offloaded by the fund"),
    ("fill_failures_count", "fill failures", "liquidation orders left unfilled (per order)"),
    ("liquidations_deferred", "deferred by a breaker", "deferral episodes"),
    ("vacuum_seconds", "liquidity-vacuum s",
     "run seconds with depth within 1% below the threshold"),
    ("min_depth_1pct_ratio", "worst depth 1% / baseline", "lowest depth within 1% / pre-event"),
    ("max_spread_bps", "max spread (bps)", "widest spread of a two-sided book at the time "
                                           "series samples (one per sample interval)"),
    ("insurance_fund_min", "fund cash min ({q})", "the insurance fund's wallet"),
    ("insurance_fund_equity_min", "fund equity min ({q})",
     "cash + taken-over positions' unrealised PnL at the mark"),
    ("adl_units", "ADL'd units", "bankrupt units closed by ADL"),
    ("adl_fills", "ADL fills", "counterparty closes (one unit may take many)"),
    ("bad_debt", "bad debt ({q})", "losses nobody absorbed"),
    ("halts_count", "halts", "trading halts started"),
    ("halted_seconds", "halted s", "run seconds halted"),
    ("down_seconds", "venue down s", "run seconds the venue was out (an outage)"),
    ("events_processed", "events", "rows of the event log"),
    ("events_per_second", "events / second", "engine throughput (machine-dependent)"),
)
#: Rows whose figure is cut off by the end of the run when the flag is set.  Rows in run
#: seconds (``RUN_SECONDS``) also give the event time they stand for when the run's clock is
#: compressed (the summary's ``time.compression``): "30 (event 2.0 min)".
CENSORED = {"vacuum_seconds": "vacuum_open_at_end", "halted_seconds": "halted_at_end"}


#: Rows that are prices: in the instrument's quote currency, which is not the money's on an
#: inverse instrument (XBTUSD: prices in USD, money in XBT).
PRICE_ROWS = frozenset({"min_price"})


def price_currency(summary: dict) -> str:
    """The currency of the summary's prices: its instrument's quote currency, found by the
    symbol among the bundled instruments (``engine.venue.instruments``: a run's instrument
    is always one of them); the money's currency for a symbol not found there.  O(bundled
    instruments)."""
    from ..venue.instruments import BUNDLED_INSTRUMENTS
    for make in BUNDLED_INSTRUMENTS.values():
        ins = make()
        if ins.symbol == summary.get("instrument"):
            return ins.quote_currency
    return summary.get("quote_currency", "quote")


def row_currency(key: str, summary: dict) -> str:
    """The currency of row ``key``: the price's for ``PRICE_ROWS``, else the money's."""
    return price_currency(summary) if key in PRICE_ROWS \
        else summary.get("quote_currency", "quote")


def row_label(key: str, label: str, summary: dict) -> str:
    """Row ``key``'s label with its currency (``row_currency``) filled in."""
    return label.format(q=row_currency(key, summary))


def _fmt(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):    # no trailing zeros: 107.0 and 93 read alike in a row
        text = f"{value:,.4f}" if abs(value) < 100 else f"{value:,.2f}"
        return text.rstrip("0").rstrip(".")
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _seed_list(seeds: list[int]) -> str:
    if seeds == list(range(seeds[0], seeds[0] + len(seeds))) and len(seeds) > 2:
        return f"{seeds[0]}-{seeds[-1]}"
    return ",".join(map(str, seeds))


#: Rows in run seconds; under a compressed clock each also reads in event time.
RUN_SECONDS = ("one_sided_seconds", "vacuum_seconds", "halted_seconds", "down_seconds")


def event_time(run_seconds: float, k) -> str:
    """``run_seconds`` on a clock compressed ``k`` times, as event time in the largest unit
    that keeps it at least 2 (s, min, h, days), 1 decimal: 30 run s at k = 4 -> "2.0 min"."""
    s = float(run_seconds) * float(Fraction(str(k)))
    for unit, size in (("days", 86_400), ("h", 3_600), ("min", 60)):
        if s >= 2 * size:
            return f"{s / size:,.1f} {unit}"
    return f"{s:,.1f} s"


def not_measured(summaries: list[dict]) -> list[tuple[str, str]]:
    """``(summary key, why)`` for the rows some run could not measure (its ``not_measured``:
    e.g. depth beyond a recorded snapshot, a wick against an index that is the venue's own
    mid), in row order; the first run's reason where several give one.  O(rows + reasons)."""
    why: dict[str, str] = {}
    for s in summaries:
        for key, reason in (s.get("not_measured") or {}).items():
            why.setdefault(key, reason)
    return [(key, why[key]) for key, _, _ in SUMMARY_ROWS if key in why]


def _cell(summary: dict, key: str) -> str:
    spread = summary.get("range", {}).get(key)
    value = summary.get(key)
    if value is None and key in (summary.get("not_measured") or {}):
        return "not measured"
    text = _fmt(value)
    if spread is not None and spread[0] != spread[1]:
        text += f" ({_fmt(spread[0])}-{_fmt(spread[1])})"
    k = (summary.get("time") or {}).get("compression", "1")
    if key in RUN_SECONDS and value and str(k) != "1":
        text += f" (event {event_time(value, k)})"
    flag = CENSORED.get(key)
    return f"{text}, still open" if flag and summary.get(flag) else text
