"""Bundled margin tier tables, transcribed from docs/reference/liquidation-mechanics.md.

Each table is (floor, cap, mmr, max_leverage) rows in quote-currency units, as the venue prints
them. Maintenance amounts (cum) are never typed in: ``TierTable`` derives them by the
recursion in ``engine.venue.tiers.maintenance_amounts``. Venue tables change often; every
table names its date and source and should be re-fetched before use as a fixture for another
date.
"""

from __future__ import annotations

from fractions import Fraction

from .tiers import TierTable

__all__ = [
    "BINANCE_BTCUSDT_2021",
    "BINANCE_BTCUSD_PERP_ASSUMED",
    "BITMEX_XBTUSD_2020_03",
    "BINANCE_BTCUSDT_2025_08_19",
    "BINANCE_ETHUSDT_2025_08_19",
    "BINANCE_ALT_ASSUMED",
    "BUNDLED",
    "HYPERLIQUID_BTC_2026",
]

# Reference §1.3 [P]: Binance announcement "Update on the Collateral Ratio Under Portfolio Margin
# and the Leverage & Margin Tiers of USDⓈ-M Perpetual Contracts" (2025-08-17), in force from
# 2025-08-19 06:30 UTC. Max leverage is the top of each printed range ("101–150x" -> 150). The
# announcement also says >125x is unavailable to accounts younger than 365 days; that is an
# account rule, not part of the table.
BINANCE_BTCUSDT_2025_08_19 = TierTable.from_rows(
    [
        ("0", "300000", "0.0040", 150),
        ("300000", "800000", "0.0050", 100),
        ("800000", "3000000", "0.0065", 75),
        ("3000000", "12000000", "0.0100", 50),
        ("12000000", "70000000", "0.0200", 25),
        ("70000000", "100000000", "0.0250", 20),
        ("100000000", "230000000", "0.0500", 10),
        ("230000000", "480000000", "0.1000", 5),
        ("480000000", "600000000", "0.1250", 4),
        ("600000000", "800000000", "0.1500", 3),
        ("800000000", "1200000000", "0.2500", 2),
        ("1200000000", "1800000000", "0.5000", 1),
    ],
    name="binance-usdm:BTCUSDT@2025-08-19",
    source="reference §1.3; Binance announcement 2025-08-17, effective 2025-08-19 06:30 UTC",
)

# Reference §1.3 [P], same announcement: ETHUSDT's first four tiers equal BTCUSDT's; tiers 5–12
# (notional floors, caps and MMR) are as listed there. The reference gives no max leverage for
# ETHUSDT: tiers 5–12 are **assumed** to take the max leverage of the BTCUSDT tier with the same
# MMR (25, 20, 10, 5, 4, 3, 2, 1), and tiers 1–4 BTCUSDT's (150, 100, 75, 50), also **assumed**.
BINANCE_ETHUSDT_2025_08_19 = TierTable.from_rows(
    [
        ("0", "300000", "0.0040", 150),  # max leverage assumed (as BTCUSDT)
        ("300000", "800000", "0.0050", 100),  # max leverage assumed (as BTCUSDT)
        ("800000", "3000000", "0.0065", 75),  # max leverage assumed (as BTCUSDT)
        ("3000000", "12000000", "0.0100", 50),  # max leverage assumed (as BTCUSDT)
        ("12000000", "50000000", "0.0200", 25),  # max leverage assumed
        ("50000000", "65000000", "0.0250", 20),  # max leverage assumed
        ("65000000", "150000000", "0.0500", 10),  # max leverage assumed
        ("150000000", "320000000", "0.1000", 5),  # max leverage assumed
        ("320000000", "400000000", "0.1250", 4),  # max leverage assumed
        ("400000000", "530000000", "0.1500", 3),  # max leverage assumed
        ("530000000", "800000000", "0.2500", 2),  # max leverage assumed
        ("800000000", "1200000000", "0.5000", 1),  # max leverage assumed
    ],
    name="binance-usdm:ETHUSDT@2025-08-19",
    source="reference §1.3; Binance announcement 2025-08-17, effective 2025-08-19 06:30 UTC; "
    "max leverage assumed",
)

# Reference §5 [P]: Hyperliquid GitBook ``trading/margin-tiers`` (2026 docs, snapshot
# dzmbs/hyperliquid-docs synced from 2026-01-27): "BTC 0–150M 40x, >150M 20x"; the
# maintenance rate is half the initial margin rate at the tier's max leverage, so it is derived
# here, not typed: 1/(2×40) = 1.25 %, 1/(2×20) = 2.5 %. The last tier is open-ended (cap None).
HYPERLIQUID_BTC_2026 = TierTable.from_rows(
    [
        ("0", "150000000", Fraction(1, 2 * 40), 40),
        ("150000000", None, Fraction(1, 2 * 20), 20),
    ],
    name="hyperliquid:BTC@2026-01-27",
    source="reference §5; Hyperliquid GitBook trading/margin-tiers, 2026 docs",
)

# Reference §1.3 [S]: a 2021-era capture of Binance's BTCUSDT leverage brackets (API
# ``GET /fapi/v1/leverageBracket``, github.com/boolean404/heikin-ashi-trading-bot,
# ``json/fapiPrivate_get_leverage_bracket.py``). Binance's FAQ examples still use this older table;
# use it with those examples (or 2021 replays) only. The capture's ``cum`` column
# (0, 50, 1,300, 46,300, ...) is not typed here; tests check the recursion reproduces it.
BINANCE_BTCUSDT_2021 = TierTable.from_rows(
    [
        ("0", "50000", "0.004", 125),
        ("50000", "250000", "0.005", 100),
        ("250000", "3000000", "0.010", 50),
        ("3000000", "20000000", "0.025", 20),
        ("20000000", "40000000", "0.050", 10),
        ("40000000", "100000000", "0.100", 5),
        ("100000000", "120000000", "0.125", 4),
        ("120000000", "200000000", "0.150", 3),
        ("200000000", "300000000", "0.250", 2),
        ("300000000", "500000000", "0.500", 1),
    ],
    name="binance-usdm:BTCUSDT@2021",
    source="reference §1.3 [S]; 2021-era leverageBracket API capture; FAQ examples only",
)

# A small-cap Binance USD-M perpetual (ATOMUSDT-like).  *Assumed* table: the reference gives no
# bracket table for an altcoin (docs/reference/liquidation-mechanics.md section 1.3 has
# BTCUSDT and ETHUSDT only); this follows their shape (maintenance rate doubling as the cap
# grows, 1x at the top) at altcoin sizes, with 25x at most, as Hyperliquid's "many alts"
# 10-20x tiers and Binance's own small caps suggest (section 5).
BINANCE_ALT_ASSUMED = TierTable.from_rows(
    [
        ("0", "20000", "0.0200", 25),
        ("20000", "100000", "0.0250", 20),
        ("100000", "500000", "0.0500", 10),
        ("500000", "2000000", "0.1000", 5),
        ("2000000", "5000000", "0.1250", 4),
        ("5000000", "10000000", "0.2500", 2),
        ("10000000", None, "0.5000", 1),
    ],
    name="binance-usdm:ATOMUSDT (assumed)",
    source="assumed: no altcoin table in the reference; BTC/ETH shape at altcoin sizes",
)

# BitMEX XBTUSD risk limits in force in March 2020, in XBT (inverse: notional = position
# value in coin).  Not in docs/reference (section 4 gives BitMEX's process, not its
# figures); from BitMEX's own pages found for this table [S, re-fetch before relying on it]:
# base risk limit 200 XBT, one step per 100 XBT beyond it (BitMEX announcement raising the
# step "from 100 to 150 XBT" on 31 Aug 2021), base initial margin 1.00% and base maintenance
# margin 0.45% before 5 May 2020 (BitMEX announcement "Reduction in Base Maintenance Margin
# - XBT and ETH Series - 5 May 2020": "current" 0.45%, assumed already in force on 12-13 Mar
# 2020), each step adding 0.50% to both (bitmex.com/app/riskLimitsExamples: "maintenance
# margin becomes 0.50% + (# of Steps * 0.50%)").  Max leverage = 1 / initial margin.
# **Assumed**: (1) BitMEX charges the whole position its risk limit's rates; this table is
# read as brackets (only value above a step pays the higher rate, ``TierTable``'s cum
# recursion), which gives lower MM above 200 XBT; (2) steps are listed to 1,000 XBT and the
# last row is open-ended.
BITMEX_XBTUSD_2020_03 = TierTable.from_rows(
    [("0", "200", "0.0045", 100)]
    + [(str(200 + 100 * (s - 1)), str(200 + 100 * s) if s < 9 else None,
        Fraction(45 + 50 * s, 10_000), Fraction(10_000, 100 + 50 * s)) for s in range(1, 10)],
    name="bitmex:XBTUSD@2020-03",
    source="BitMEX risk limits (not in reference): base 200 XBT, step 100 XBT, MM 0.45% + 0.50%"
    "/step, IM 1.00% + 0.50%/step; read as brackets (assumed)",
)

# Binance COIN-M BTCUSD_PERP brackets, in BTC.  Reference section 7 example 5 [P, COIN-M FAQ]
# gives the first bracket's rate (0.4% at 0.4 BTC, cum 0) and one point of a higher one
# ("300 BTC -> MMR 12.5%, maintenance amount 11.605 BTC"); Binance's API docs show bracket 1
# as 0-50 BTC, 125x, 0.4% [S].  The rest of this table is **assumed** (the shape of the
# 2021-era USD-M table, reference section 1.3, in BTC) and does not reproduce the 11.605 BTC
# point: a fixture for the mechanism, not the venue's table.
BINANCE_BTCUSD_PERP_ASSUMED = TierTable.from_rows(
    [
        ("0", "50", "0.004", 125),
        ("50", "250", "0.005", 100),
        ("250", "1000", "0.010", 50),
        ("1000", "5000", "0.025", 20),
        ("5000", "20000", "0.050", 10),
        ("20000", None, "0.100", 5),
    ],
    name="binance-coinm:BTCUSD_PERP@assumed",
    source="reference §7 example 5 (bracket 1); later brackets assumed",
)

#: Bundled tables by name.
BUNDLED: dict[str, TierTable] = {
    t.name: t
    for t in (
        BINANCE_BTCUSDT_2025_08_19,
        BINANCE_ETHUSDT_2025_08_19,
        HYPERLIQUID_BTC_2026,
        BINANCE_BTCUSDT_2021,
        BINANCE_ALT_ASSUMED,
        BITMEX_XBTUSD_2020_03,
        BINANCE_BTCUSD_PERP_ASSUMED,
    )
}

