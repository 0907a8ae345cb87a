"""Every column a run writes, with its unit and meaning -- the one table behind
``docs/columns.md``, ``liqsim columns``, the parquet files' metadata and
``RunResult.to_pandas``.

Units (``UNITS``): how the stored integer converts to the real unit ``to_pandas`` gives.

  ``ns``        nanoseconds since the start of the run -> seconds (``time_s``)
  ``ticks``     a price in ticks -> quote currency (x tick size); -1 (time series) = none
  ``lots``      a quantity in lots -> base units (x lot size)
  ``quantums``  money in quote quantums -> quote currency (x quote quantum)
  ``bp100``     hundredths of a basis point -> basis points; -1 = none
  ``ppb``       a signed rate in parts per billion (kept)
  ``count``, ``flag``, ``id``, ``code``, ``side``   kept as they are

The event log's ``price``/``qty``/``value`` columns mean different things per kind (the
per-kind table is ``engine.venue.codes.COLUMNS``); ``to_pandas`` converts them per kind and
leaves NaN where a kind does not fill a column.
"""
from __future__ import annotations

from decimal import Decimal

UNITS = {
    "ns": "ns since the run's start (to_pandas: time_s, seconds)",
    "ticks": "price in ticks (to_pandas: quote currency; none = NaN)",
    "lots": "quantity in lots (to_pandas: base units)",
    "quantums": "money in quote quantums (to_pandas: quote currency)",
    "bp100": "hundredths of a basis point (to_pandas: basis points; none = NaN)",
    "ppb": "a signed rate in parts per billion of notional (kept)",
    "nquote": "a price in billionths of a quote unit (to_pandas: quote currency; none = NaN)",
    "ms": "milliseconds (kept)",
    "count": "a count (kept)",
    "flag": "0/1 (kept)",
    "id": "an id (kept)",
    "code": "a code (kept; see engine.venue.codes)",
    "side": "+1 buy / -1 sell / 0 (kept)",
}

_SAMPLED = [
    ("ts", "ns", "the start of the interval; the state columns are sampled at this instant "
                 "(after its orders, marks and liquidations), the aggregates cover the whole "
                 "interval"),
    ("best_bid", "ticks", "best bid at the interval's start (its one sample)"),
    ("best_ask", "ticks", "best ask at the interval's start (its one sample)"),
    ("spread_bps", "bp100", "(ask - bid) / mid; none when a side is empty"),
]
_TAIL = [
    ("last", "ticks", "the last trade price so far (stale while nothing trades)"),
    ("mark", "ticks", "the mark price"),
    ("index", "ticks", "the index price"),
    ("open_interest_lots", "lots", "open interest: the sum of the long positions (in a "
     "recorded replay the simulated population's: the recorded world's synthetic accounts "
     "are left out)"),
    ("insurance_fund", "quantums", "the insurance fund's cash (wallet)"),
    ("insurance_fund_equity", "quantums",
     "the fund's cash + the collateral it holds + its taken-over positions' unrealised PnL "
     "at the mark"),
    ("backstop", "quantums", "the backstop vault's cash (wallet)"),
    ("bad_debt", "quantums", "bad debt written off so far"),
    ("halted", "flag", "trading halted at the sample"),
    ("down", "flag", "the venue out at the sample (an outage: no orders, no liquidations)"),
    ("premium_index_ppb", "ppb", "the last funding premium sample (0: none, or funding off)"),
    ("funding_rate_ppb", "ppb", "the predicted rate of the next funding settlement, per "
                                "interval, > 0 longs pay (0 with funding off)"),
    ("queue_len", "count", "participant messages waiting for the matching engine at the "
                           "sample, arrived before it ([capacity]; 0 without a limit)"),
    ("queue_wait_ms", "ms", "the longest wait of a message the matching engine served in "
                            "the interval (rounded up)"),
    ("liq_queue_len", "count", "deficient units the liquidation engine's budget left "
                               "waiting at its last check"),
]
def band_name(ppm: int) -> str:
    """Column suffix of a band: 5_000 ppm -> ``0_5pct``, 10_000 -> ``1pct``, 2_500 -> ``0_25pct``."""
    pct = (Decimal(ppm) / 10_000).normalize()
    text = format(pct, "f")
    return text.replace(".", "_") + "pct"


#: The per-interval aggregates of the event log, in table order (their kinds:
#: ``engine.outputs.metrics.AGGREGATES``, which must list the same names).
AGGREGATE_COLUMNS = {
    "liquidations": ("count", "positions (units) margin-called for the first time"),
    "liquidation_orders": ("count", "liquidation orders sent to the book"),
    "liquidations_notional": ("quantums", "liquidated notional, each lot once: filled + off "
                                          "the book"),
    "liquidations_filled_notional": ("quantums", "traded value of liquidation fills"),
    "liquidations_off_book_notional": ("quantums", "taken over by the fund or the backstop, "
                                                   "or ADL'd"),
    "fill_failures": ("count", "liquidation orders whose remainder found no liquidity"),
    "liquidations_deferred": ("count", "deferral episodes that began (a breaker)"),
    "insurance_takeovers": ("count", "units the fund took over"),
    "backstop_takeovers": ("count", "positions the backstop took over"),
    "adl_fills": ("count", "ADL counterparty closes"),
    "adl_notional": ("quantums", "ADL'd notional (at the bankruptcy price)"),
    "trades": ("count", "trades printed"),
    "volume_notional": ("quantums", "traded value"),
    "funding_paid": ("quantums", "funding paid by longs to shorts (signed; < 0 shorts paid)"),
}

EVENT_COLUMNS = [
    ("ts", "ns", "when it happened"),
    ("seq", "count", "row number (the log's total order)"),
    ("kind", "code", "EventKind (to_pandas adds kind_name)"),
    ("side", "side", "see engine.venue.codes.COLUMNS for each kind"),
    ("inst", "id", "instrument index"),
    ("account", "id", "the account the event is about (0 = the venue)"),
    ("other", "id", "the counterparty account (maker, ADL counterparty, fund)"),
    ("order_id", "id", "the order the event is about"),
    ("other_id", "id", "the counterparty order (the maker of a trade)"),
    ("price", "ticks", "a price: per kind (codes.COLUMNS)"),
    ("qty", "lots", "a quantity: per kind; collateral units for CollateralSeized"),
    ("value", "quantums", "money: per kind; ticks for BreakerTripped, lots for "
                          "TradingResumed (the auction imbalance)"),
    ("reason", "code", "one code space per kind (codes.REASON_SPACE; to_pandas adds "
                       "reason_name)"),
]


def timeseries_columns(bands_ppm, extra=()) -> list[tuple[str, str, str]]:
    """``(name, unit, meaning)`` of every time-series column, in table order; ``extra``
    the columns of a feature on in the run (``Sampler.extra``: ``[collateral]``'s)."""
    out = list(_SAMPLED)
    for ppm in bands_ppm:
        pct = band_name(ppm).replace("_", ".").replace("pct", "%")
        out += [(f"bid_depth_{band_name(ppm)}", "quantums", f"bid notional within {pct} of mid"),
                (f"ask_depth_{band_name(ppm)}", "quantums", f"ask notional within {pct} of mid")]
    out += _TAIL
    out += [tuple(c) for c in extra]
    out += [(name, unit, meaning) for name, (unit, meaning) in AGGREGATE_COLUMNS.items()]
    out.append(("vacuum", "flag", "depth within 1% below vacuum_fraction x its pre-event "
                                  "baseline, from the event start (0 in the baseline window, "
                                  "and where the metadata's feed says depth is not measured)"))
    return out


def markdown(bands_ppm=(5_000, 10_000, 20_000, 50_000)) -> str:
    """The text of docs/columns.md (a test keeps the file equal to it)."""
    lines = ["# Columns", "",
             "Every column liqsim writes, with its unit and meaning. Generated from",
             "`engine/outputs/columns.py` (`liqsim columns` prints the same); the parquet files",
             "carry it in their metadata. Stored values are integers; `RunResult.to_pandas`",
             "converts them to real units (quote currency, base units, seconds, NaN where",
             "there is none), `units=\"raw\"` keeps the integers.", "",
             "## Units", "", "| unit | stored as |", "|---|---|"]
    lines += [f"| `{u}` | {text} |" for u, text in UNITS.items()]
    lines += ["", "## Time series (`timeseries.parquet`, one row per interval)", "",
              "| column | unit | meaning |", "|---|---|---|"]
    lines += [f"| `{n}` | `{u}` | {m} |" for n, u, m in timeseries_columns(bands_ppm)]
    lines += ["", "A run with `[collateral]` adds, before the aggregates, per asset",
              "`coll_<asset>_book`, `coll_<asset>_price`, `coll_<asset>_index` (`nquote`: its own",
              "book's last trade or mid, its price as the venue values it, its index), then",
              "`collateral_value` (`quantums`) and `collateral_calls` (`count`); their meanings",
              "are in the parquet metadata (`engine/market/collateral.py`)."]
    lines += ["", "## Event log (`events.parquet`, one row per event)", "",
              "| column | unit | meaning |", "|---|---|---|"]
    lines += [f"| `{n}` | `{u}` | {m} |" for n, u, m in EVENT_COLUMNS]
    lines += ["", "What each kind of event fills, and in which unit, is tabled in",
              "`engine/venue/codes.py` (`COLUMNS`, `REASON_SPACE`).", ""]
    return "\n".join(lines)
