"""Scenarios: what to replay, read from TOML, validated, scaled and overridden.

A scenario file has these tables (every key is optional unless marked required; the bundled
``replays/*.toml`` are worked examples):

``[scenario]``   name (required), description, toy, sources, duration_s, event_start_s,
                 sample_interval_s, max_cascade_rounds, vacuum_fraction, step_ms,
                 time_compression (event seconds per run second, >= 1; which clocks follow
                 it: ``engine.scenarios.catalogue``)
``[venue]``      instrument preset and overrides, waterfall, mark policy (``binance``,
                 ``fair-price`` = BitMEX's, ``hyperliquid``, ``last``, ``mid``:
                 ``engine.venue.marks``), ADL ranking, insurance fund, fund offload rule.  Inverse presets (``bitmex:XBTUSD``,
                 ``binance:BTCUSD_PERP``: money in the coin) keep every amount of the file
                 in quote units, converted to coin at the index's start price
                 (``Scenario.start_price``); the population's notionals become whole
                 contracts; waterfall ``binance``/``tiered`` only, no ``hyperliquid`` ADL
                 ranking or funding rule (refused);
                 ``adl_counterfactual`` (bool, default
                 false): at every ADL episode also measure what each ranking would have
                 taken from the winners, in the same state (``engine.liquidation.adl``;
                 the summary's ``adl_overshoot_by_ranking``; the run itself is unchanged);
                 ``backstop_offload`` (bool, default false): the backstop vault re-offers
                 the positions it took over each second by the fund's offload rule
                 (``offload_fraction``, ``offload_band``...; ``engine.liquidation.offload``);
                 ``backstop_capital_oi_pct`` (percent of the opening open interest,
                 default none): the vault's capital, and it takes accounts over only while
                 it is above its own maintenance margin (none: no capital, no limit);
                 ``fund_limit_oi_mode`` ("min" or "replace"; default none = "min" under
                 the ``binance`` waterfall, "replace" under the others): whether the
                 fund's position limit ``fund_limit_oi_pct`` (percent of the opening open
                 interest) applies with ``fund_limit`` (a multiple of the fund's margin
                 balance, default 1: reference 1.6 item 9) or replaces it
``[index]``      the exogenous index/oracle path: ``path = [[t_s, price], ...]`` (linear
                 between points) or ``file`` (CSV ``t_s,price``), plus an optional seeded
                 random walk ``noise_bps`` (standard deviation per second, in bps)
``[makers]``     the market makers' quoting and withdrawal rules; ``[[makers.archetypes]]``
                 groups of makers (each a ``[makers]`` table over the defaults above) with
                 per-maker draws, gradual withdrawal (wider, thinner, then gone), toxic-flow
                 and loss signals, inventory skew, an off-venue hedge, and a share of the
                 population's opposite side
``[traders]``    the leveraged population (the liquidation map)
``[[flows]]``    sell/buy programs: notional per second over a window; ``closes = true``
                 makes the program a holder closing an existing position (it starts with
                 the whole window's notional, long for a sell program, and trades
                 reduce-only), so its selling lowers open interest instead of opening a short;
                 closing flows share one holding, so they must all be of one kind
``[[stubs]]``    stale deep resting orders: offset from the start price and notional
``[[shocks]]``   macro shocks: at ``at_s`` the index gaps by ``index_pct`` (kept from then
                 on) and an optional one-off market order of ``notional`` hits the book
``[frictions]``  windows in which top-ups are blocked, the venue is out, collateral transfers
                 between venues are frozen (``transfer_freeze``), orders are delayed
``[arbitrage]``  cross-venue arbitrageurs (``engine.market.arbitrage``), off unless
                 ``count`` > 0: ``threshold_bps = [lo, hi]`` (int bps; each one's cost,
                 uniform), ``exit_bps`` (int bps < lo: unwinds when the gap is back within
                 it), ``refresh_ms = [lo, hi]`` (int ms, uniform: its wake interval),
                 ``capital`` (quote units, median per arbitrageur on this venue at start;
                 log-normal, log-sd ``capital_sigma``), ``inventory_limit`` (quote units at
                 the index, median, same draw), ``leverage`` (x), ``max_margin_use`` (share
                 of equity x leverage it fills before it needs a transfer), ``reserve_ratio``
                 (x capital, held on other venues, moved here in one transfer),
                 ``transfer_delay_s`` (int s), ``resting`` (also quote a bid and an ask at
                 the thresholds, not only take), ``gap_only`` (with ``resting``: quote a
                 side only while no one else's order rests there within the threshold)
``[background]`` two-sided background takers (``engine.market.background``), off unless
                 ``rate_per_s`` > 0: Poisson arrivals per second, log-normal notional
                 (``notional_median`` quote units, log-sd ``notional_sigma``), ``buy_share``,
                 ``limit_pct`` (% protection band from the index), ``momentum_share`` of
                 orders following the sign of the last ``momentum_window_s`` (int s) of
                 this venue's last price, optional ``window = [start_s, end_s]``
``[[dip_buyers]]`` resting bids (``engine.market.background``): ``offset_pct`` (< 0, %
                 below the anchor), ``notional`` (quote units), ``anchor`` ``"start"`` (the
                 start price) or ``"high"`` (the index's running high, re-placed each second);
                 ``closes = true``: the bids are shorts' take-profits (the account starts short
                 their lots at the start price and the bids are reduce-only)
``[funding]``    perpetual funding (``engine.venue.funding``), off unless ``enabled = true``:
                 ``rule`` "binance"/"hyperliquid" (default: the instrument's venue);
                 ``interval_s`` (s; 28800 binance, 3600 hyperliquid), ``first_s`` the first
                 funding instant (s, in (0, interval_s]; default interval_s), ``sample_s``
                 the premium sampling cadence (s, default 5); rates as fractions of 1 per
                 8 hours, scaled to the interval: ``interest_8h`` (0.0001), ``clamp_8h``
                 (0.0005), ``cap_8h`` (binance 0.75 x the first tier's MMR, hyperliquid
                 0.32 = 4 %/hour), ``start_rate_8h`` the rate in force at t = 0 (default
                 interest_8h; 40 % a year is 0.000365); ``impact_notional`` (quote units;
                 binance 200 x the first tier's max leverage, hyperliquid 20000 for BTC and
                 ETH, else 6000; ``--scale`` scales it with the depth; inverse: whole
                 contracts' face value, e.g. 20000 USD = 20,000 XBTUSD contracts)
``[basis]``      cash-and-carry traders holding a share of the population's opposite side,
                 who buy it back when the perpetual trades at a discount
``[arrivals]``   leveraged traders opening positions through the book during the run
                 (rate a second, sides with momentum, leverage and notional distributions)
``[capacity]``   the venue's processing rates (``engine.venue.capacity``), all off by default:
                 ``messages_per_s`` (int, participant messages per second the matching
                 engine serves, first in first out; 0 or absent = unlimited),
                 ``liquidations_per_s`` (int, waterfalls the liquidation engine starts per
                 whole second; 0 or absent = unlimited), ``stale_mark_after_ms`` (int ms;
                 the mark is not republished while the matching engine's backlog exceeds it;
                 absent = never stale; needs ``messages_per_s``)
``[collateral]`` margin assets other than the quote currency (``engine.market.collateral``),
                 off unless present: ``valuation`` (default for every asset) ``"own-book"``
                 (the asset's own thin spot book in the same run: its last trade, or its mid
                 with ``own_book_price = "mid"``), ``"index"`` (the asset's ``index_path``)
                 or ``"redemption"`` (the fixed ``redemption`` value); ``[[collateral.assets]]``
                 each: ``name`` (letters/digits), ``haircut`` (fraction of 1), ``valuation``
                 (overrides the default), ``start`` (quote units per asset unit: the book's
                 and the index's start), ``redemption`` (quote units, default start),
                 ``index_path`` ([[t_s, price]], default flat at start), ``holders_share``
                 (share of the cross population that margins in it), ``holders_side``
                 ``"both"``/``"long"``/``"short"``, ``collateral_share`` (share of each
                 holder's margin held in it, the rest in quote), the book: ``tick``, ``lot``
                 (quote units, asset units), ``book_depth`` (quote units per side),
                 ``book_levels``, ``book_spacing_bps``, ``book_half_spread_bps`` (int bps),
                 ``book_refresh_s`` (int s; no refresh within ``frictions.transfer_freeze``),
                 ``sell_seized`` (the venue sells seized units into the book, each second, no
                 lower than ``seized_limit_pct`` % under its last price);
                 ``[[collateral.flows]]``: sell/buy programs on an asset's book, as
                 ``[[flows]]`` plus ``asset`` (default the first), ``limit_pct`` from the
                 asset's index price, no ``closes``
``[facts]``      (catalogue) the figures a historical replay must reproduce, with sources
``[sources]``    (catalogue) a dotted scenario key -> the reference's source ids and figure
                 behind it, or the assumption marker (``engine.scenarios.catalogue``)
``[expect]``     (catalogue) what a reduced-scale run with no breaker must show: ``scale``,
                 ``seeds``, ``facts`` that PASS, ``targets`` for them, ``summary`` bounds
``[run]``        written into a run's resolved ``scenario.toml``: the breaker, seed and
                 scale that produced it.  Replaying that file uses its breaker and seed
                 unless ``--breaker``/``--seed`` say otherwise, so it gives the same events;
                 the scale is informational (the file holds the scaled values).  A recorded
                 run (``replay --data``) adds ``data`` (the files, paths as given),
                 ``allow_gaps`` and ``population`` (its ``--scenario`` file, informational):
                 replaying that file re-reads ``data`` (``engine.runner.run``).

``--scale F`` multiplies the population, the makers' depth, flows, stubs, shock orders,
the arbitrageurs' capital and inventory limit, background order sizes, dip bids and the
insurance fund and the ``[capacity]`` rates (rounded up, at least 1: a smaller
population sends fewer stop and liquidation orders; the makers' own message load is kept
whole) by F together, so the shape is kept; so are breaker caps in quote
(``liq-throttle``: ``engine.breakers.scale_params`` writes them into ``[breaker]``, so a
run's resolved ``scenario.toml`` replays it at scale 1).  ``--set a.b=v`` overrides any key before
validation (``v`` is parsed as a TOML value, else taken as a string; ``flows.0.KEY``
reaches into an array of tables).
"""
from __future__ import annotations

import copy
import csv
import math
import pathlib
import sys
import tomllib
from decimal import Decimal
from fractions import Fraction

import attrs

from ..breakers import check_tables, scale_params, split_names
from . import catalogue
from .catalogue import Expect
from ..config import (ConfigError, amount, as_plain, boolean, bounded, build, decimal, field,
                      fraction, integer, read_toml, scale_ratio, share, text, window)
from ..venue.funding import EIGHT_HOURS_S, FUNDING_RULES, FundingRule
from ..venue.instruments import (ADL_RANKINGS, BUNDLED_INSTRUMENTS, INVERSE_ADL_RANKINGS,
                                 INVERSE_WATERFALLS, WATERFALLS, waterfall_of)
from ..venue.rounding import ceil_f, floor_f

MARK_POLICIES = ("binance", "fair-price", "hyperliquid", "last", "mid")
VOL_SOURCES = ("index", "last", "mark")    # what the makers' volatility rule watches
REPLAYS = pathlib.Path(__file__).resolve().parents[2] / "replays"


def _texts(where, value):
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: expected a list of strings, got {value!r}")
    return tuple(value)


@attrs.frozen
class Meta:
    name: str = field(text)
    # May be empty (as a resolved scenario.toml writes a missing one back).
    description: str = field(lambda w, v: v if v == "" else text(w, v), default="")
    toy: bool = field(boolean, default=False)
    sources: tuple = field(_texts, default=())
    duration_s: int = field(lambda w, v: integer(w, v, 1, 7 * 86400), default=180)
    event_start_s: int = field(lambda w, v: integer(w, v, 0), default=30)
    sample_interval_s: int = field(lambda w, v: integer(w, v, 1, 3600), default=1)
    max_cascade_rounds: int = field(lambda w, v: integer(w, v, 1, 1000), default=20)
    vacuum_fraction: Fraction = field(share, default=Fraction(1, 4))
    step_ms: int = field(lambda w, v: integer(w, v, 1, 60_000), default=100)
    # Event seconds per run second (engine.scenarios.catalogue.CLOCKS says which clocks
    # follow it); 1 = the run is the event's own time.
    time_compression: Fraction = field(
        lambda w, v: fraction(w, v, Fraction(1), Fraction(10**6)), default=Fraction(1))


def _positive_pct(where: str, value) -> Fraction:
    """A percentage in (0, 100] (-3 and 0 get the same message)."""
    f = fraction(where, value, Fraction(0), Fraction(100)) if fraction(where, value) > 0 else 0
    if f == 0:
        raise ConfigError(f"{where}: expected a percentage > 0 (a limit of 0 lets the fund "
                          f"take nothing), got {value!r}")
    return f


#: ``[venue] fund_limit_oi_mode`` values (``fund_limit_alone``).
FUND_LIMIT_OI_MODES = ("min", "replace")


def fund_limit_alone(venue, waterfall: str) -> bool:
    """Whether ``fund_limit_oi_pct`` replaces the fund-based ``fund_limit`` (True) or both
    cap the fund's position (False).  Binance's rule is relative to the fund -- "by default
    ... 100% the size of the insurance fund" (reference 1.6 item 9) -- so under its
    waterfall both apply unless the file says ``replace``; the tiered venues publish no cap
    (sections 2-4: BitMEX spends the fund in the market, then ADL), so there the OI-based
    limit alone stays the default, as before.  O(1)."""
    mode = venue.fund_limit_oi_mode
    if mode is None:
        mode = "min" if waterfall == "binance" else "replace"
    return mode == "replace"


@attrs.frozen
class Venue:
    instrument: str = field(lambda w, v: text(w, v, tuple(BUNDLED_INSTRUMENTS)),
                            default="binance:BTCUSDT")
    waterfall: str | None = field(lambda w, v: text(w, v, WATERFALLS), default=None)
    mark_policy: str = field(lambda w, v: text(w, v, MARK_POLICIES), default="binance")
    adl_ranking: str = field(lambda w, v: text(w, v, ADL_RANKINGS), default="binance")
    insurance_fund: Decimal = field(amount, default=Decimal("1000000"))
    fund_limit: Fraction = field(lambda w, v: fraction(w, v, Fraction(0), Fraction(1000)),
                                 default=Fraction(1))
    offload_fraction: Fraction = field(share, default=Fraction(1, 10))
    offload_band: Fraction = field(share, default=Fraction(1, 100))
    # The band widens linearly to ``offload_band_max`` over ``offload_widen_s`` seconds of
    # holding a position (0 = a fixed band), so the fund works a thin book over time.
    offload_band_max: Fraction | None = field(share, default=None)
    offload_widen_s: int = field(lambda w, v: integer(w, v, 0, 86_400), default=0)
    # In proportion to the open interest at the start (its long side at the start price),
    # replacing ``insurance_fund`` when given; ``fund_limit``: see ``fund_limit_oi_mode``.
    # Both sizes by open interest are assumed (see the venue doc).
    insurance_fund_oi_pct: Fraction | None = field(
        lambda w, v: fraction(w, v, Fraction(0), Fraction(100)), default=None)
    fund_limit_oi_pct: Fraction | None = field(
        lambda w, v: _positive_pct(w, v), default=None)
    # How that limit meets ``fund_limit``: "min" (both apply), "replace" (it alone); none:
    # "min" under the binance waterfall (reference 1.6 item 9), "replace" under the others.
    fund_limit_oi_mode: str | None = field(
        lambda w, v: text(w, v, FUND_LIMIT_OI_MODES), default=None)
    taker_fee_ppm: int | None = field(lambda w, v: integer(w, v, 0, 100_000), default=None)
    maker_fee_ppm: int | None = field(lambda w, v: integer(w, v, -10_000, 100_000), default=None)
    clearance_fee_ppm: int | None = field(lambda w, v: integer(w, v, 0, 100_000), default=None)
    # Measure every ADL ranking on each episode of the run (read-only; module docstring).
    adl_counterfactual: bool = field(boolean, default=False)
    # The backstop vault works its positions out by the fund's offload rule
    # (engine.liquidation.offload; off: it holds them, as before).
    backstop_offload: bool = field(boolean, default=False)
    # The backstop vault's capital as a % of the opening open interest; when given, the
    # vault takes accounts over only while it is above its own maintenance margin (None: no
    # capital and no limit, as before).  engine.liquidation.settlement.backstop_can_take.
    backstop_capital_oi_pct: Fraction | None = field(
        lambda w, v: fraction(w, v, Fraction(0), Fraction(100)), default=None)


def _path(where, value):
    if not isinstance(value, list) or len(value) < 1:
        raise ConfigError(f"{where}: expected a list of [t_s, price] points, got {value!r}")
    points = []
    for k, p in enumerate(value):
        if not isinstance(p, list) or len(p) != 2:
            raise ConfigError(f"{where}[{k}]: expected [t_s, price], got {p!r}")
        t = fraction(f"{where}[{k}][0]", p[0], Fraction(0))
        price = amount(f"{where}[{k}][1]", p[1], positive=True)
        if points and t <= points[-1][0]:
            raise ConfigError(f"{where}[{k}][0]: expected times strictly increasing, got {p[0]!r}")
        points.append((t, price))
    return tuple(points)


@attrs.frozen
class Index:
    start: Decimal = field(lambda w, v: amount(w, v, positive=True), default=Decimal("100000"))
    path: tuple = field(_path, default=())
    file: str | None = field(text, default=None)
    noise_bps: Decimal = field(bounded(0, 10_000), default=Decimal("0"))  # walk sd per second


def _depth_bands(where: str, value) -> tuple:
    """``[[pct, notional], ...]``: cumulative quote notional within ``pct``% of fair per
    side, both strictly increasing; pct in (0, 100]."""
    if not isinstance(value, (list, tuple)) or not value:
        raise ConfigError(f"{where}: expected a non-empty list of [pct, notional] pairs, "
                          f"got {value!r}")
    bands = []
    for k, item in enumerate(value):
        if not isinstance(item, (list, tuple)) or len(item) != 2:
            raise ConfigError(f"{where}[{k}]: expected [pct, notional], got {item!r}")
        pct = fraction(f"{where}[{k}][0]", item[0])
        if pct <= 0:
            raise ConfigError(f"{where}[{k}][0]: expected a percentage > 0, got {item[0]!r}")
        pct = fraction(f"{where}[{k}][0]", item[0], Fraction(0), Fraction(100))
        notional = amount(f"{where}[{k}][1]", item[1], positive=True)
        if bands and (pct <= bands[-1][0] or notional <= bands[-1][1]):
            raise ConfigError(f"{where}[{k}]: expected pct and notional both larger than "
                              f"the band before (cumulative depth), got {item!r}")
        bands.append((pct, notional))
    return tuple(bands)


DEFAULT_DEPTH_1PCT = Decimal("20000000")


@attrs.frozen
class Makers:
    """``depth_bands`` is the depth profile; ``depth_1pct = X`` is shorthand for
    ``depth_bands = [[1, X]]`` (a loaded scenario always holds the bands)."""
    # Maker accounts are 100..999 (simulation.FIRST_MAKER .. FIRST_TRADER - 1).
    count: int = field(lambda w, v: integer(w, v, 0, 900), default=5)
    depth_1pct: Decimal | None = field(amount, default=None)
    depth_bands: tuple | None = field(_depth_bands, default=None)
    levels: int = field(lambda w, v: integer(w, v, 1, 500), default=25)
    spacing_bps: int = field(lambda w, v: integer(w, v, 1, 10_000), default=8)
    half_spread_bps: int = field(lambda w, v: integer(w, v, 0, 10_000), default=1)
    refresh_ms: int = field(lambda w, v: integer(w, v, 1, 600_000), default=500)
    basis_bps: int = field(lambda w, v: integer(w, v, -10_000, 10_000), default=0)
    capital: Decimal = field(amount, default=Decimal("50000000"))
    inventory_limit: Decimal = field(amount, default=Decimal("10000000"))
    withdraw_on_volatility: bool = field(boolean, default=True)
    # The volatility rule watches the index (other venues) or this venue's last or mark.
    vol_source: str = field(lambda w, v: text(w, v, VOL_SOURCES), default="index")
    vol_window_s: int = field(lambda w, v: integer(w, v, 2, 3600), default=10)
    vol_threshold_bps: int = field(lambda w, v: integer(w, v, 1, 100_000), default=60)
    withdraw_on_loss: bool = field(boolean, default=True)
    loss_threshold: Decimal = field(amount, default=Decimal("2000000"))
    withdraw_on_adl: bool = field(boolean, default=True)
    withdraw_on_outage: bool = field(boolean, default=True)
    calm_s: int = field(lambda w, v: integer(w, v, 1, 86_400), default=60)
    recovery_s: int = field(lambda w, v: integer(w, v, 0, 86_400), default=300)
    # --- a population of makers (engine.market.makers, "Archetypes"); defaults keep one
    # group of identical makers, as before.
    name: str = field(text, default="makers")
    # Per-maker draws, uniform in [low key, *_max] (integers), from the makers' own stream:
    vol_threshold_max_bps: int | None = field(lambda w, v: integer(w, v, 1, 100_000),
                                              default=None)
    calm_max_s: int | None = field(lambda w, v: integer(w, v, 1, 86_400), default=None)
    refresh_max_ms: int | None = field(lambda w, v: integer(w, v, 1, 600_000), default=None)
    # Each maker's own order latency, uniform in [latency_ms, latency_max_ms] (ms); absent:
    # the scenario's frictions.order_latency_ms.  Drawn after the three above, only if given.
    latency_ms: int | None = field(lambda w, v: integer(w, v, 0, 600_000), default=None)
    latency_max_ms: int | None = field(lambda w, v: integer(w, v, 0, 600_000), default=None)
    # Capital split log-normally among the group's makers (log-sd; 0 = equal shares),
    # the group's total kept; drawn before the makers' other draws, only if > 0.
    capital_sigma: Decimal = field(bounded(0, 3), default=Decimal("0"))
    # Gradual withdrawal: from ``widen_from`` x the threshold on, ``stress_stages`` steps of
    # a wider spread (up to ``widen_bps`` more half-spread) and thinner levels within
    # ``thin_within_bps`` of fair, before the pull at the threshold itself.
    stress_stages: int = field(lambda w, v: integer(w, v, 0, 8), default=0)
    widen_from: Fraction = field(lambda w, v: fraction(w, v, Fraction(1, 100),
                                                       Fraction(99, 100)),
                                 default=Fraction(1, 2))
    widen_bps: int = field(lambda w, v: integer(w, v, 0, 10_000), default=0)
    thin_within_bps: int = field(lambda w, v: integer(w, v, 0, 10_000), default=0)
    # Toxic flow: liquidation-order notional absorbed within vol_window_s that withdraws it.
    toxic_notional: Decimal = field(amount, default=Decimal("0"))      # 0 = rule off
    # Inventory: quotes skewed by up to skew_bps against the exposure (at the limit).
    skew_bps: int = field(lambda w, v: integer(w, v, 0, 10_000), default=0)
    # The off-venue hedge of the perp inventory: share hedged, capacity, cost, latency.
    hedge_share: Fraction = field(share, default=Fraction(0))
    hedge_notional_per_s: Decimal = field(amount, default=Decimal("0"))   # 0 = unlimited
    hedge_cost_bps: int = field(lambda w, v: integer(w, v, 0, 10_000), default=0)
    hedge_latency_ms: int = field(lambda w, v: integer(w, v, 0, 600_000), default=0)
    # Past the inventory limit: trade this share of the excess away through the book each
    # decision (IOC, no worse than unwind_band_bps from fair); 0 = quotes only.
    unwind_share: Fraction = field(share, default=Fraction(0))
    unwind_band_bps: int = field(lambda w, v: integer(w, v, 0, 10_000), default=50)
    # The share of the population's net opposite side this group holds (hedged off-venue),
    # on margin at ``opposite_leverage``.
    opposite_share: Fraction = field(share, default=Fraction(0))
    opposite_leverage: Decimal = field(bounded(1, 125, positive=True), default=Decimal("5"))
    # Fair value: the index moved toward this venue's last trade by this share (0 = the
    # index alone): makers that lean on their own venue's prints carry a cascade's
    # discount into their quotes (assumed: a linear blend).
    last_weight: Fraction = field(share, default=Fraction(0))
    archetypes: tuple = ()      # [[makers.archetypes]]: groups, each a [makers] table


@attrs.frozen
class Traders:
    count: int = field(lambda w, v: integer(w, v, 0, 10_000_000), default=100_000)
    long_share: Fraction = field(share, default=Fraction(4, 5))
    leverage_median: Decimal = field(bounded("0.1", 1000, positive=True),
                                     default=Decimal("10"))
    leverage_sigma: Decimal = field(bounded(0, 5), default=Decimal("0.6"))
    leverage_min: Decimal = field(bounded("0.1", 1000, positive=True), default=Decimal("1.5"))
    leverage_max: Decimal = field(bounded("0.1", 1000, positive=True), default=Decimal("100"))
    notional_min: Decimal = field(lambda w, v: amount(w, v, positive=True), default=Decimal("200"))
    notional_alpha: Decimal = field(bounded("0.1", 10, positive=True),
                                    default=Decimal("1.3"))
    notional_max: Decimal = field(lambda w, v: amount(w, v, positive=True),
                                  default=Decimal("5000000"))
    entry_spread_pct: Decimal = field(bounded(0, 50), default=Decimal("2"))
    isolated_share: Fraction = field(share, default=Fraction(3, 10))
    # Cash beyond the position's margin, as a multiple of it: backs a cross position, sits
    # apart from an isolated one (with 0 the two behave alike: one position, one margin).
    spare_margin: Fraction = field(lambda w, v: fraction(w, v, Fraction(0), Fraction(100)),
                                   default=Fraction(0))
    stop_loss_share: Fraction = field(share, default=Fraction(1, 10))
    stop_distance_pct: Decimal = field(bounded("0.01", 99, positive=True),
                                       default=Decimal("3"))
    stop_trigger: str = field(lambda w, v: text(w, v, ("mark", "last")), default="mark")
    topup_share: Fraction = field(share, default=Fraction(1, 10))
    # No trader starts with less than this multiple of its maintenance margin.
    margin_floor: Fraction = field(lambda w, v: fraction(w, v, Fraction(1), Fraction(100)),
                                   default=Fraction(11, 10))
    # With it, a raised account's floor is drawn uniform in [margin_floor, margin_floor_max]
    # instead of all sitting at margin_floor (one liquidation price for all of them).
    margin_floor_max: Fraction | None = field(
        lambda w, v: fraction(w, v, Fraction(1), Fraction(100)), default=None)


@attrs.frozen
class Arrivals:
    """``[arrivals]``: leveraged traders who open positions during the run through the book
    (``engine.market.arrivals``): a Poisson number a second (mean ``rate_per_s``) within
    ``window`` [start_s, end_s]; long with probability ``long_share``, except a ``momentum``
    share who follow the mark's move over ``momentum_window_s``; leverage and notional (quote
    units) log-normal by median and log-sd; market orders no worse than ``limit_pct``% from
    the mark; the rate rises by ``activity`` times per 1% the mark moved over the momentum
    window; ``close_rate_per_s`` draws a second of a trader of the start population who
    closes a position in profit (profit-taking).  ``--scale`` scales both rates."""
    window: tuple = field(window)
    rate_per_s: Decimal = field(bounded(0, 100_000), default=Decimal("1"))
    long_share: Fraction = field(share, default=Fraction(1, 2))
    momentum: Fraction = field(share, default=Fraction(0))
    momentum_window_s: int = field(lambda w, v: integer(w, v, 1, 3600), default=10)
    leverage_median: Decimal = field(bounded(1, 1000, positive=True), default=Decimal("10"))
    leverage_sigma: Decimal = field(bounded(0, 5), default=Decimal("0.5"))
    notional_median: Decimal = field(lambda w, v: amount(w, v, positive=True),
                                     default=Decimal("5000"))
    notional_sigma: Decimal = field(bounded(0, 5), default=Decimal("1"))
    limit_pct: Decimal = field(bounded("0.01", 50, positive=True), default=Decimal("1"))
    # The rate x (1 + activity x the mark's |move| in % over momentum_window_s).
    activity: Decimal = field(bounded(0, 100), default=Decimal("0"))
    # Profit-taking exits: draws a second of a start trader who closes if in profit.
    close_rate_per_s: Decimal = field(bounded(0, 100_000), default=Decimal("0"))


@attrs.frozen
class Basis:
    """``[basis]``: cash-and-carry traders holding ``share`` of the population's net
    opposite side (beside the makers' ``opposite_share``), ``count`` accounts (0 = none,
    at most 30) at ``leverage``; each second they buy back ``unwind_fraction`` of their
    short when the venue's best ask is more than ``unwind_bps`` below the index
    (``engine.market.basis``)."""
    count: int = field(lambda w, v: integer(w, v, 0, 30), default=0)
    leverage: Decimal = field(bounded(1, 125, positive=True), default=Decimal("5"))
    unwind_bps: int = field(lambda w, v: integer(w, v, 0, 10_000), default=50)
    unwind_fraction: Fraction = field(share, default=Fraction(1, 10))
    share: Fraction = field(share, default=Fraction(0))     # last: it shadows ``share``


def _basis(where: str, table, makers) -> Basis:
    """``[basis]``, its share fitting beside the makers' shares of the opposite side."""
    basis = build(Basis, table, f"{where}: basis")
    taken = sum(g.opposite_share for g in makers.archetypes or (makers,))
    if basis.share + taken > 1:
        raise ConfigError(f"{where}: basis.share: expected <= {1 - taken} (the makers hold "
                          f"{taken} of the opposite side), got {basis.share}")
    return basis


@attrs.frozen
class Flow:
    kind: str = field(lambda w, v: text(w, v, ("sell", "buy")))
    window: tuple = field(window)
    notional_per_s: Decimal = field(lambda w, v: amount(w, v, positive=True))
    limit_pct: Decimal = field(decimal, default=Decimal("5"))
    closes: bool = field(boolean, default=False)


def _above_minus_100(where: str, value) -> Decimal:
    """A percentage move in (-100, 1000] (a price cannot fall to zero or below)."""
    d = decimal(where, value, non_negative=False)
    if d <= -100:
        raise ConfigError(f"{where}: expected a percentage > -100, got {value!r}")
    if d > 1000:
        raise ConfigError(f"{where}: expected a percentage <= 1000, got {value!r}")
    return d


@attrs.frozen
class Stub:
    offset_pct: Decimal = field(_above_minus_100)
    notional: Decimal = field(lambda w, v: amount(w, v, positive=True))


@attrs.frozen
class Shock:
    """A macro shock (a headline): at ``at_s`` the index gaps by ``index_pct`` -- the
    path from then on is multiplied by ``1 + index_pct/100`` -- and, if ``notional`` > 0,
    one market order of that quote notional (``kind`` sell/buy, worst price ``limit_pct``
    from the index) hits the book at the same instant."""
    at_s: int = field(lambda w, v: integer(w, v, 0))
    index_pct: Decimal = field(_above_minus_100, default=Decimal("0"))
    kind: str = field(lambda w, v: text(w, v, ("sell", "buy")), default="sell")
    notional: Decimal = field(amount, default=Decimal("0"))
    limit_pct: Decimal = field(decimal, default=Decimal("5"))


VALUATIONS = ("own-book", "index", "redemption")


def _asset_name(where: str, value) -> str:
    name = text(where, value)
    if not name.isascii() or not name.isalnum():
        raise ConfigError(f"{where}: expected letters and digits only, got {value!r}")
    return name


def _haircut(where: str, value) -> Fraction:
    """A haircut in [0, 1): at 1 the asset would be worth nothing as margin."""
    f = share(where, value)
    if f == 1:
        raise ConfigError(f"{where}: expected a fraction in [0, 1), got {value!r}")
    return f


@attrs.frozen
class CollateralAssetTable:
    """One ``[[collateral.assets]]`` entry (units in the module docstring)."""

    name: str = field(_asset_name)
    haircut: Fraction = field(_haircut, default=Fraction(0))
    valuation: str | None = field(lambda w, v: text(w, v, VALUATIONS), default=None)
    start: Decimal = field(lambda w, v: amount(w, v, positive=True), default=Decimal("1"))
    redemption: Decimal | None = field(lambda w, v: amount(w, v, positive=True), default=None)
    index_path: tuple = field(_path, default=())
    holders_share: Fraction = field(share, default=Fraction(0))
    holders_side: str = field(lambda w, v: text(w, v, ("both", "long", "short")),
                              default="both")
    collateral_share: Fraction = field(share, default=Fraction(1))
    tick: Decimal = field(lambda w, v: amount(w, v, positive=True), default=Decimal("0.0001"))
    lot: Decimal = field(lambda w, v: amount(w, v, positive=True), default=Decimal("0.01"))
    book_depth: Decimal = field(amount, default=Decimal("1000000"))
    book_levels: int = field(lambda w, v: integer(w, v, 1, 500), default=20)
    book_spacing_bps: int = field(lambda w, v: integer(w, v, 1, 10_000), default=10)
    book_half_spread_bps: int = field(lambda w, v: integer(w, v, 0, 10_000), default=1)
    book_refresh_s: int = field(lambda w, v: integer(w, v, 1, 86_400), default=5)
    sell_seized: bool = field(boolean, default=True)
    seized_limit_pct: Decimal = field(bounded("0.01", 99, positive=True), default=Decimal("5"))


@attrs.frozen
class CollateralFlow:
    """One ``[[collateral.flows]]`` entry: a ``[[flows]]`` program on an asset's book."""

    kind: str = field(lambda w, v: text(w, v, ("sell", "buy")))
    window: tuple = field(window)
    notional_per_s: Decimal = field(lambda w, v: amount(w, v, positive=True))
    limit_pct: Decimal = field(bounded("0.01", 99, positive=True), default=Decimal("5"))
    asset: str | None = field(_asset_name, default=None)


@attrs.frozen
class Collateral:
    """``[collateral]``: the default valuation, the own book's price rule, the assets (each
    with its valuation resolved) and the programs on their books."""

    valuation: str = field(lambda w, v: text(w, v, VALUATIONS), default="own-book")
    own_book_price: str = field(lambda w, v: text(w, v, ("last", "mid")), default="last")
    assets: tuple = ()
    flows: tuple = ()

    def valuation_of(self, asset: CollateralAssetTable) -> str:
        return asset.valuation or self.valuation


def _collateral(where: str, table, duration_s: int) -> Collateral | None:
    """``[collateral]``: at least one asset, unique names, flows naming a listed asset and
    starting inside the run; an asset's redemption defaults to its start, its index path
    to flat at its start."""
    if table is None:
        return None
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: collateral: expected a table, got {table!r}")
    top = {k: v for k, v in table.items() if k not in ("assets", "flows")}
    base = build(Collateral, top, f"{where}: collateral")
    for key in ("assets", "flows"):
        if not isinstance(table.get(key, []), list):
            raise ConfigError(f"{where}: collateral.{key}: expected an array of tables "
                              f"([[collateral.{key}]])")
    assets = []
    for k, a in enumerate(table.get("assets", [])):
        asset = build(CollateralAssetTable, a, f"{where}: collateral.assets[{k}]")
        if asset.name in {x.name for x in assets}:
            raise ConfigError(f"{where}: collateral.assets[{k}].name: expected a unique name, "
                              f"got {asset.name!r} twice")
        if asset.redemption is None:
            asset = attrs.evolve(asset, redemption=asset.start)
        if not asset.index_path:        # flat at the start (written back as a path)
            asset = attrs.evolve(asset, index_path=((Fraction(0), asset.start),))
        assets.append(asset)
    if not assets:
        raise ConfigError(f"{where}: collateral.assets: expected at least one "
                          f"[[collateral.assets]]")
    if sum(a.holders_share for a in assets) > 1:
        raise ConfigError(f"{where}: collateral.assets: holders_share: expected a total <= 1")
    flows = []
    for k, f in enumerate(table.get("flows", [])):
        flow = build(CollateralFlow, f, f"{where}: collateral.flows[{k}]")
        if flow.asset is None:
            flow = attrs.evolve(flow, asset=assets[0].name)
        if flow.asset not in {a.name for a in assets}:
            raise ConfigError(f"{where}: collateral.flows[{k}].asset: expected one of "
                              f"{', '.join(a.name for a in assets)}, got {flow.asset!r}")
        if flow.window[0] >= duration_s:
            raise ConfigError(f"{where}: collateral.flows[{k}].window: expected to start "
                              f"before duration_s ({duration_s})")
        flows.append(flow)
    return attrs.evolve(base, assets=tuple(assets), flows=tuple(flows))


@attrs.frozen
class Frictions:
    topup_blocked: tuple | None = field(window, default=None)
    outage: tuple | None = field(window, default=None)
    order_latency_ms: int = field(lambda w, v: integer(w, v, 0, 600_000), default=0)
    transfer_freeze: tuple | None = field(window, default=None)    # disables arbitrageurs


def _int_range(lo: int, hi: int):
    """A converter: ``[low, high]``, integers with ``lo <= low <= high <= hi`` (the bounds
    of a uniform draw)."""
    def convert(where: str, value) -> tuple[int, int]:
        if not isinstance(value, (list, tuple)) or len(value) != 2:
            raise ConfigError(f"{where}: expected [low, high], got {value!r}")
        a = integer(f"{where}[0]", value[0], lo, hi)
        b = integer(f"{where}[1]", value[1], lo, hi)
        if b < a:
            raise ConfigError(f"{where}: expected low <= high, got {value!r}")
        return a, b
    return convert


@attrs.frozen
class Arbitrage:
    """``[arbitrage]`` (module docstring; the model in ``engine.market.arbitrage``).
    Accounts 40..99 (``engine.venue.accounts``), so at most 60."""
    count: int = field(lambda w, v: integer(w, v, 0, 60), default=0)
    threshold_bps: tuple = field(_int_range(0, 10_000), default=(10, 30))
    exit_bps: int = field(lambda w, v: integer(w, v, 0, 10_000), default=5)
    refresh_ms: tuple = field(_int_range(1, 600_000), default=(200, 1000))
    capital: Decimal = field(lambda w, v: amount(w, v, positive=True), default=Decimal("1000000"))
    capital_sigma: Decimal = field(bounded(0, 5), default=Decimal("0.5"))
    inventory_limit: Decimal = field(lambda w, v: amount(w, v, positive=True),
                                     default=Decimal("2000000"))
    leverage: Decimal = field(bounded(1, 125), default=Decimal("5"))
    max_margin_use: Fraction = field(lambda w, v: fraction(w, v, Fraction(1, 100), Fraction(1)),
                                     default=Fraction(1, 2))
    reserve_ratio: Fraction = field(lambda w, v: fraction(w, v, Fraction(0), Fraction(100)),
                                    default=Fraction(1))
    transfer_delay_s: int = field(lambda w, v: integer(w, v, 0, 86_400), default=300)
    resting: bool = field(boolean, default=False)
    gap_only: bool = field(boolean, default=False)


@attrs.frozen
class Background:
    """``[background]`` (module docstring; the model in ``engine.market.background``)."""
    rate_per_s: Decimal = field(bounded(0, 1000), default=Decimal("0"))
    notional_median: Decimal = field(lambda w, v: amount(w, v, positive=True),
                                     default=Decimal("20000"))
    notional_sigma: Decimal = field(bounded(0, 5), default=Decimal("1"))
    buy_share: Fraction = field(share, default=Fraction(1, 2))
    limit_pct: Decimal = field(bounded("0.01", 99), default=Decimal("1"))
    momentum_share: Fraction = field(share, default=Fraction(0))
    momentum_window_s: int = field(lambda w, v: integer(w, v, 1, 3600), default=10)
    window: tuple | None = field(window, default=None)


def _below_zero(where: str, value) -> Decimal:
    """A percentage in (-100, 0): a bid strictly below its anchor, above zero."""
    d = _above_minus_100(where, value)
    if d >= 0:
        raise ConfigError(f"{where}: expected a percentage < 0 (below the anchor), got {value!r}")
    return d


@attrs.frozen
class DipBuyer:
    offset_pct: Decimal = field(_below_zero)
    notional: Decimal = field(lambda w, v: amount(w, v, positive=True))
    anchor: str = field(lambda w, v: text(w, v, ("start", "high")), default="start")
    closes: bool = field(boolean, default=False)


@attrs.frozen
class FundingTable:
    """``[funding]`` (module docstring).  ``None`` fields take the venue's default when the
    scenario is validated (``_funding``), so a loaded scenario holds concrete values."""
    enabled: bool = field(boolean, default=False)
    rule: str | None = field(lambda w, v: text(w, v, FUNDING_RULES), default=None)
    interval_s: int | None = field(lambda w, v: integer(w, v, 1, 7 * 86400), default=None)
    first_s: int | None = field(lambda w, v: integer(w, v, 1, 7 * 86400), default=None)
    sample_s: int = field(lambda w, v: integer(w, v, 1, 7 * 86400), default=5)
    interest_8h: Fraction = field(lambda w, v: fraction(w, v, Fraction(-1), Fraction(1)),
                                  default=Fraction(1, 10_000))
    clamp_8h: Fraction = field(lambda w, v: fraction(w, v, Fraction(0), Fraction(1)),
                               default=Fraction(5, 10_000))
    cap_8h: Fraction | None = field(lambda w, v: fraction(w, v, Fraction(0), Fraction(10)),
                                    default=None)
    start_rate_8h: Fraction | None = field(lambda w, v: fraction(w, v, Fraction(-10),
                                                                 Fraction(10)), default=None)
    impact_notional: Decimal | None = field(lambda w, v: amount(w, v, positive=True),
                                            default=None)

    def rule_for(self, instrument) -> FundingRule:
        """The table in ``instrument``'s integer units (impact notional in quantums, or for
        an inverse instrument in lots of ``lot_size x contract_size`` quote units; rounded
        down, at least one)."""
        if instrument.inverse:
            face = instrument.lot_size * instrument.contract_size
            lots = floor_f(Fraction(self.impact_notional) / Fraction(face))
            impact = {"impact_lots": max(1, lots)}
        else:
            impact = {"impact_notional_q": max(1, _quanta(self.impact_notional,
                                                          instrument.quanta_per_unit))}
        return FundingRule(rule=self.rule, interval_s=self.interval_s, first_s=self.first_s,
                           sample_s=self.sample_s, interest_8h=self.interest_8h,
                           clamp_8h=self.clamp_8h, cap_8h=self.cap_8h,
                           start_rate_8h=self.start_rate_8h, **impact)


def _check_inverse(where: str, venue: Venue, funding) -> None:
    """An inverse instrument (``engine.venue.instruments``) supports the ``binance`` and
    ``tiered`` waterfalls, every ADL ranking but ``hyperliquid``, and the ``binance``
    funding rule (Hyperliquid lists no inverse contract: ``engine.venue.funding``): any
    other combination is refused here."""
    if not BUNDLED_INSTRUMENTS[venue.instrument]().inverse:
        return
    for name, value, allowed in (("waterfall", venue.waterfall, INVERSE_WATERFALLS),
                                 ("adl_ranking", venue.adl_ranking, INVERSE_ADL_RANKINGS)):
        if value is not None and value not in allowed:
            raise ConfigError(f"{where}: venue.{name}: {value!r} is not supported with the "
                              f"inverse instrument {venue.instrument}; expected one of "
                              f"{list(allowed)}")
    if isinstance(funding, dict) and funding.get("enabled") is True \
            and funding.get("rule") == "hyperliquid":
        raise ConfigError(f"{where}: funding.rule: 'hyperliquid' is not supported with the "
                          f"inverse instrument {venue.instrument}; expected 'binance'")


def _check_backstop(where: str, venue: Venue) -> None:
    """``backstop_offload`` and ``backstop_capital_oi_pct`` configure the backstop vault,
    which only the ``hyperliquid`` waterfall has (``engine.liquidation.waterfalls``): set
    on another venue they would do nothing, so they are refused."""
    waterfall = waterfall_of(venue.instrument, venue.waterfall)
    if waterfall == "hyperliquid":
        return
    for key in ("backstop_offload", "backstop_capital_oi_pct"):
        if getattr(venue, key) not in (None, False):
            raise ConfigError(f"{where}: venue.{key}: only the hyperliquid waterfall has a "
                              f"backstop vault; this venue's waterfall is {waterfall!r}")


def _funding(where: str, table, venue: Venue) -> FundingTable:
    """``[funding]`` with the venue's defaults filled in (``engine.venue.funding``'s table of
    venue rules) and its values consistent with each other."""
    f = build(FundingTable, table, f"{where}: funding")
    tiers = BUNDLED_INSTRUMENTS[venue.instrument]().tiers
    rule = f.rule or ("hyperliquid" if venue.instrument.startswith("hyperliquid:")
                      else "binance")
    binance = rule == "binance"
    interval = f.interval_s or (EIGHT_HOURS_S if binance else 3600)
    if binance:
        cap, impact = Fraction(3, 4) * tiers[0].mmr, 200 * int(tiers[0].max_leverage)
    else:
        symbol = venue.instrument.partition(":")[2]
        cap, impact = Fraction(32, 100), 20_000 if symbol in ("BTC", "ETH") else 6_000
    f = attrs.evolve(f, rule=rule, interval_s=interval,
                     first_s=interval if f.first_s is None else f.first_s,
                     cap_8h=cap if f.cap_8h is None else f.cap_8h,
                     start_rate_8h=f.interest_8h if f.start_rate_8h is None else f.start_rate_8h,
                     impact_notional=Decimal(impact) if f.impact_notional is None
                     else f.impact_notional)
    for name, value, hi in (("first_s", f.first_s, interval), ("sample_s", f.sample_s, interval)):
        if value > hi:
            raise ConfigError(f"{where}: funding.{name}: expected <= interval_s ({interval}), "
                              f"got {value}")
    if abs(f.start_rate_8h) > f.cap_8h:
        raise ConfigError(f"{where}: funding.start_rate_8h: expected within the cap "
                          f"(+-{float(f.cap_8h):g}), got {float(f.start_rate_8h):g}")
    return f


@attrs.frozen
class Capacity:
    """``[capacity]`` (module docstring; the model: ``engine.venue.capacity``)."""
    messages_per_s: int = field(lambda w, v: integer(w, v, 0, 10**9), default=0)
    liquidations_per_s: int = field(lambda w, v: integer(w, v, 0, 10**9), default=0)
    stale_mark_after_ms: int | None = field(lambda w, v: integer(w, v, 0, 3_600_000),
                                            default=None)

    @property
    def enabled(self) -> bool:
        return bool(self.messages_per_s or self.liquidations_per_s)


def _capacity(where: str, table) -> Capacity:
    capacity = build(Capacity, table, f"{where}: capacity")
    if capacity.stale_mark_after_ms is not None and not capacity.messages_per_s:
        raise ConfigError(f"{where}: capacity.stale_mark_after_ms: needs capacity."
                          f"messages_per_s > 0 (the backlog it compares is the matching "
                          f"engine's)")
    return capacity


def _quanta(value, quanta_per_unit: int) -> int:
    """Quote units (a Decimal of the scenario) -> int quote quantums, rounded down (every
    amount here is >= 0, so toward zero).  Exact: through ``Fraction``, never a float."""
    return floor_f(Fraction(value) * quanta_per_unit)


def _ppm(value) -> int:
    """A fraction of 1 -> int parts per million, rounded down."""
    return floor_f(Fraction(value) * 1_000_000)


@attrs.frozen
class MakerUnits:
    """One group of makers' amounts in quantums (the group's, shared equally by its
    makers, except the per-maker limits), rounded down."""

    capital: int                        # the group's
    inventory_limit: int                # per maker
    loss_threshold: int                 # per maker
    depth_bands: tuple                  # ((edge in bps, exact), cumulative quantums), group
    toxic_notional: int                 # per maker; 0 = rule off
    hedge_per_s: int                    # per maker; 0 = unlimited


def maker_units(m: Makers, qpu: int) -> MakerUnits:
    return MakerUnits(capital=_quanta(m.capital, qpu),
                      inventory_limit=_quanta(m.inventory_limit, qpu),
                      loss_threshold=_quanta(m.loss_threshold, qpu),
                      depth_bands=tuple((Fraction(pct) * 100, _quanta(notional, qpu))
                                        for pct, notional in m.depth_bands),
                      toxic_notional=_quanta(m.toxic_notional, qpu),
                      hedge_per_s=_quanta(m.hedge_notional_per_s, qpu))


@attrs.frozen
class ScenarioUnits:
    """Every decimal amount of a scenario as the integers the loop uses, for one instrument
    (``Scenario.in_units``): money in quote quantums, rates in parts per million, each
    rounded down (against nobody: these are the scenario's own sizes and caps)."""

    insurance_fund: int
    fund_limit_ppm: int
    offload_fraction_ppm: int
    offload_band_ppm: int
    offload_band_max_ppm: int           # = offload_band_ppm when the band does not widen
    maker_groups: tuple                 # one ``MakerUnits`` per group (archetype)
    flow_notionals: tuple               # per second, one per [[flows]] entry
    shock_notionals: tuple              # one per [[shocks]] entry
    stub_notionals: tuple               # one per [[stubs]] entry
    arbitrage_capital: int              # median per arbitrageur
    arbitrage_inventory_limit: int      # median per arbitrageur
    background_notional: int            # median order notional
    dip_notionals: tuple                # one per [[dip_buyers]] entry
    # Inverse instrument: the price (ticks) its quote amounts were converted to coin at
    # (``Scenario.start_price``); 0 for a linear one, whose amounts need no price.
    price_ticks: int = 0


@attrs.frozen
class Scenario:
    meta: Meta
    venue: Venue
    index: Index
    makers: Makers
    traders: Traders
    flows: tuple = ()
    stubs: tuple = ()
    shocks: tuple = ()
    frictions: Frictions = Frictions()
    arbitrage: Arbitrage = Arbitrage()
    background: Background = Background()
    dip_buyers: tuple = ()
    funding: FundingTable = FundingTable()
    arrivals: Arrivals | None = None
    basis: Basis = Basis()
    capacity: Capacity = Capacity()
    collateral: Collateral | None = None
    facts: dict = attrs.field(factory=dict)
    sources: dict = attrs.field(factory=dict)    # [sources] (engine.scenarios.catalogue)
    expect: Expect | None = None                 # [expect]
    breaker: dict = attrs.field(factory=dict)
    run: dict = attrs.field(factory=dict)       # [run]: breaker, seed, scale (see module doc)
    source_path: str = ""
    scale: Fraction = Fraction(1)      # set by --scale (informational: values are scaled)

    def start_price(self) -> Fraction:
        """The scripted index at t = 0 before any shock (quote units, exact): the path's
        first price if it starts at 0, else ``index.start`` (``engine.market.index``)."""
        path = self.index.path
        if path and Fraction(path[0][0]) == 0:
            return Fraction(path[0][1])
        return Fraction(self.index.start)

    def in_units(self, instrument) -> ScenarioUnits:
        """The scenario's amounts in ``instrument``'s integer units, converted once, here,
        rounding down (``ScenarioUnits``).  The amounts are quote units; for an inverse
        instrument they become coin quantums at ``start_price`` (assumed: a replay written
        in USD keeps its sizes in USD at the start).  O(flows + shocks + stubs + bands)."""
        qpu = instrument.quanta_per_unit
        price_ticks = 0
        if instrument.inverse:
            price_ticks = max(1, round(self.start_price() / Fraction(instrument.tick_size)))
            qpu = instrument.quote_per_unit(price_ticks)
        venue, makers = self.venue, self.makers
        return ScenarioUnits(
            insurance_fund=_quanta(venue.insurance_fund, qpu),
            fund_limit_ppm=_ppm(venue.fund_limit),
            offload_fraction_ppm=_ppm(venue.offload_fraction),
            offload_band_ppm=_ppm(venue.offload_band),
            offload_band_max_ppm=_ppm(max(venue.offload_band,
                                          venue.offload_band_max or venue.offload_band)),
            maker_groups=tuple(maker_units(g, qpu) for g in makers.archetypes or (makers,)),
            flow_notionals=tuple(_quanta(f.notional_per_s, qpu) for f in self.flows),
            shock_notionals=tuple(_quanta(s.notional, qpu) for s in self.shocks),
            stub_notionals=tuple(_quanta(s.notional, qpu) for s in self.stubs),
            arbitrage_capital=_quanta(self.arbitrage.capital, qpu),
            arbitrage_inventory_limit=_quanta(self.arbitrage.inventory_limit, qpu),
            background_notional=_quanta(self.background.notional_median, qpu),
            dip_notionals=tuple(_quanta(d.notional, qpu) for d in self.dip_buyers),
            price_ticks=price_ticks)

    def resolved(self) -> dict:
        """The scenario as a plain dict (written next to a run's outputs)."""
        out = {"scenario": as_plain(self.meta), "venue": as_plain(self.venue),
               "index": as_plain(self.index), "makers": as_plain(self.makers),
               "traders": as_plain(self.traders), "flows": as_plain(list(self.flows)),
               "stubs": as_plain(list(self.stubs)), "shocks": as_plain(list(self.shocks)),
               "frictions": as_plain(self.frictions), "arbitrage": as_plain(self.arbitrage),
               "background": as_plain(self.background),
               "dip_buyers": as_plain(list(self.dip_buyers))}
        if self.arrivals is not None:
            out["arrivals"] = as_plain(self.arrivals)
        if self.basis.count:
            out["basis"] = as_plain(self.basis)
        if self.capacity != Capacity():
            out["capacity"] = as_plain(self.capacity)
        if self.breaker:
            out["breaker"] = as_plain(self.breaker)
        if self.funding.enabled:            # off: absent, as in a file without it
            out["funding"] = as_plain(self.funding)
        if self.facts:
            out["facts"] = as_plain(self.facts)
        if self.sources:
            out["sources"] = dict(self.sources)
        if self.expect is not None:
            e = self.expect
            out["expect"] = {"scale": str(e.scale), "seeds": list(e.seeds),
                             "facts": list(e.facts), "targets": as_plain(e.targets),
                             "summary": {k: list(v) for k, v in e.summary.items()}}
        if self.collateral is not None:
            out["collateral"] = as_plain(self.collateral)
        return out


TABLES = {"scenario", "venue", "index", "makers", "traders", "flows", "stubs", "shocks",
          "frictions", "funding", "facts", "breaker", "run", "arbitrage", "background",
          "dip_buyers", "arrivals",
          "capacity", "basis", "sources", "expect", "collateral"}


def from_dict(data: dict, where: str) -> Scenario:
    """Validate a scenario dict; ``where`` names the file in errors."""
    unknown = sorted(set(data) - TABLES)
    if unknown:
        raise ConfigError(f"{where}: [{unknown[0]}]: unknown table; expected one of "
                          f"{', '.join(sorted(TABLES))}")
    if "scenario" not in data:
        raise ConfigError(f"{where}: [scenario]: missing; a scenario needs at least a name")
    meta = build(Meta, data["scenario"], f"{where}: scenario")
    if meta.event_start_s >= meta.duration_s:
        raise ConfigError(f"{where}: scenario.event_start_s: expected < duration_s "
                          f"({meta.duration_s}), got {meta.event_start_s}")
    venue = build(Venue, data.get("venue", {}), f"{where}: venue")
    _check_inverse(where, venue, data.get("funding", {}))
    _check_backstop(where, venue)
    if venue.offload_band_max is not None and venue.offload_band_max < venue.offload_band:
        raise ConfigError(f"{where}: venue.offload_band_max: expected >= offload_band "
                          f"({venue.offload_band}), got {venue.offload_band_max}")
    index = build(Index, data.get("index", {}), f"{where}: index")
    if index.file is not None and index.path:
        raise ConfigError(f"{where}: index.file: give index.path or index.file, not both")
    if index.file is not None:
        index = attrs.evolve(index, path=_read_index_file(where, index.file))
    for key in ("flows", "stubs", "shocks", "dip_buyers"):
        if not isinstance(data.get(key, []), list):
            raise ConfigError(f"{where}: {key}: expected an array of tables ([[{key}]])")
    for key in ("facts", "breaker", "run"):
        if not isinstance(data.get(key, {}), dict):
            raise ConfigError(f"{where}: {key}: expected a table")
    check_tables(data.get("breaker", {}), f"{where}: breaker")
    if meta.sample_interval_s > meta.duration_s:
        raise ConfigError(f"{where}: scenario.sample_interval_s: expected <= duration_s "
                          f"({meta.duration_s}), got {meta.sample_interval_s}")
    flows = tuple(build(Flow, f, f"{where}: flows[{k}]")
                  for k, f in enumerate(data.get("flows", [])))
    # Closing flows share one account holding their net (programs.flow_holding): a closing
    # sell and a closing buy would cancel each other's holding and neither could trade.
    closing = [k for k, f in enumerate(flows) if f.closes]
    if len({flows[k].kind for k in closing}) > 1:
        raise ConfigError(f"{where}: flows[{closing[-1]}].closes: expected closing flows of "
                          f"one kind (they share one holding), got both sell and buy")
    frictions = build(Frictions, data.get("frictions", {}), f"{where}: frictions")
    windows = [(f"flows[{k}].window", f.window) for k, f in enumerate(flows)]
    windows += [(f"frictions.{name}", getattr(frictions, name))
                for name in ("topup_blocked", "outage", "transfer_freeze")]
    arrivals = build(Arrivals, data["arrivals"], f"{where}: arrivals") \
        if "arrivals" in data else None
    if arrivals is not None:
        windows.append(("arrivals.window", arrivals.window))
    background = build(Background, data.get("background", {}), f"{where}: background")
    windows.append(("background.window", background.window))
    for name, w in windows:
        if w is not None and w[0] >= meta.duration_s:
            raise ConfigError(f"{where}: {name}: expected to start before duration_s "
                              f"({meta.duration_s}), got {[float(w[0]), float(w[1])]}")
    makers = _makers(where, data.get("makers", {}))
    return Scenario(
        meta=meta,
        venue=venue,
        index=index,
        makers=makers,
        traders=_traders(where, data.get("traders", {})),
        flows=flows,
        stubs=tuple(build(Stub, s, f"{where}: stubs[{k}]")
                    for k, s in enumerate(data.get("stubs", []))),
        shocks=_shocks(where, data.get("shocks", []), meta.duration_s),
        frictions=frictions,
        arbitrage=_arbitrage(where, data.get("arbitrage", {})),
        background=background,
        dip_buyers=tuple(build(DipBuyer, d, f"{where}: dip_buyers[{k}]")
                         for k, d in enumerate(data.get("dip_buyers", []))),
        funding=_funding(where, data.get("funding", {}), venue),
        arrivals=arrivals,
        capacity=_capacity(where, data.get("capacity", {})),
        basis=_basis(where, data.get("basis", {}), makers),
        collateral=_collateral(where, data.get("collateral"), meta.duration_s),
        facts=_facts(f"{where}: facts", data.get("facts", {})),
        sources=catalogue.sources(f"{where}: sources", data.get("sources", {}), data),
        expect=catalogue.expect(f"{where}: expect", data.get("expect")),
        breaker=dict(data.get("breaker", {})),
        run=_run_table(f"{where}: run", data.get("run", {})),
        source_path=where,
    )


def _run_table(where: str, table: dict) -> dict:
    """``[run]``: ``breaker`` (policy names joined by '+'), ``seed`` (int >= 0) and ``scale``
    (informational), each optional; a recorded run's ``data`` (non-empty list of paths),
    ``allow_gaps`` (bool) and ``population`` (a path); nothing else."""
    unknown = sorted(set(table) - {"breaker", "seed", "scale", "data", "allow_gaps",
                                   "population"})
    if unknown:
        raise ConfigError(f"{where}.{unknown[0]}: unknown key; expected breaker, seed, scale, "
                          f"data, allow_gaps or population")
    out = {}
    if "breaker" in table:
        try:
            out["breaker"] = "+".join(split_names(text(f"{where}.breaker", table["breaker"])))
        except ConfigError as exc:
            raise ConfigError(f"{where}.breaker: {str(exc).partition(': ')[2]}") from None
    if "seed" in table:
        out["seed"] = integer(f"{where}.seed", table["seed"], 0)
    if "scale" in table:
        out["scale"] = str(scale_ratio(f"{where}.scale", table["scale"]))
    if "data" in table:
        data = table["data"]
        if not isinstance(data, list) or not data:
            raise ConfigError(f"{where}.data: expected a non-empty list of paths, got {data!r}")
        out["data"] = [text(f"{where}.data[{k}]", v) for k, v in enumerate(data)]
    if "allow_gaps" in table:
        out["allow_gaps"] = boolean(f"{where}.allow_gaps", table["allow_gaps"])
    if "population" in table:
        out["population"] = text(f"{where}.population", table["population"])
    return out


def _facts(where: str, value):
    """``[facts]`` is free-form (the figures a replay should reproduce, with sources), but
    it is written back into every run's ``scenario.toml``: strings, numbers, booleans,
    arrays and tables only (TOML dates and times are refused here, not at the end of a
    run).  Returns a copy."""
    if isinstance(value, dict):
        return {k: _facts(f"{where}.{k}", v) for k, v in value.items()}
    if isinstance(value, list):
        return [_facts(f"{where}[{k}]", v) for k, v in enumerate(value)]
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{where}: expected a finite number, got {value!r}")
    if not isinstance(value, (str, int, float, bool)):
        raise ConfigError(f"{where}: expected a string, number, boolean, array or table, "
                          f"got {type(value).__name__} {value!r}")
    return value


def _arbitrage(where: str, table) -> Arbitrage:
    """The arbitrageurs, their exit inside their entry (else one trade would undo the last)."""
    arb = build(Arbitrage, table, f"{where}: arbitrage")
    if arb.exit_bps >= arb.threshold_bps[0] and arb.count:
        raise ConfigError(f"{where}: arbitrage.exit_bps: expected < threshold_bps[0] "
                          f"({arb.threshold_bps[0]}), got {arb.exit_bps}")
    return arb


def _traders(where: str, table) -> Traders:
    """The population, its ranges the right way round."""
    traders = build(Traders, table, f"{where}: traders")
    for lo, hi in (("leverage_min", "leverage_max"), ("notional_min", "notional_max"),
                   ("margin_floor", "margin_floor_max")):
        if getattr(traders, hi) is not None and getattr(traders, lo) > getattr(traders, hi):
            raise ConfigError(f"{where}: traders.{lo}: expected <= {hi} "
                              f"({getattr(traders, hi)}), got {getattr(traders, lo)}")
    return traders


def _makers(where: str, table) -> Makers:
    """The makers: one group from the ``[makers]`` table, or, with ``[[makers.archetypes]]``,
    one group per archetype -- each archetype a ``[makers]`` table whose missing keys are
    the ``[makers]`` table's (its ``count`` is the archetype's own; the top-level count
    is then unused).  Each group's depth profile resolved to bands."""
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: makers: expected a table, got {table!r}")
    groups = table.get("archetypes", [])
    if not isinstance(groups, list):
        raise ConfigError(f"{where}: makers.archetypes: expected an array of tables "
                          f"([[makers.archetypes]])")
    base = {k: v for k, v in table.items() if k != "archetypes"}
    top = _maker_group(where, "makers", base)
    if not groups:
        return top
    out, names = [], set()
    for k, group in enumerate(groups):
        if not isinstance(group, dict):
            raise ConfigError(f"{where}: makers.archetypes[{k}]: expected a table, got {group!r}")
        if group.get("archetypes"):
            raise ConfigError(f"{where}: makers.archetypes[{k}].archetypes: archetypes do not "
                              f"nest")
        group = {key: v for key, v in group.items() if key != "archetypes"}
        merged = dict(base)
        if "depth_1pct" in group or "depth_bands" in group:    # one setting, two spellings
            merged.pop("depth_1pct", None)
            merged.pop("depth_bands", None)
        merged.update(group)
        g = _maker_group(where, f"makers.archetypes[{k}]", merged)
        if g.name in names:
            raise ConfigError(f"{where}: makers.archetypes[{k}].name: expected a unique name, "
                              f"got {g.name!r} twice")
        names.add(g.name)
        out.append(g)
    if sum(g.count for g in out) > 900:
        raise ConfigError(f"{where}: makers.archetypes: expected at most 900 makers in all, "
                          f"got {sum(g.count for g in out)}")
    if sum(g.opposite_share for g in out) > 1:
        raise ConfigError(f"{where}: makers.archetypes: opposite_share: expected a total <= 1")
    return attrs.evolve(top, count=sum(g.count for g in out), archetypes=tuple(out))


def _maker_group(where: str, label: str, table) -> Makers:
    """One group of makers (``label`` names its table in errors), its ranges checked and
    its depth profile resolved to bands, each band holding at least one quote level
    (level k sits ``half_spread_bps + k x spacing_bps`` from fair)."""
    makers = build(Makers, table, f"{where}: {label}")
    if makers.depth_1pct is not None and makers.depth_bands is not None:
        raise ConfigError(f"{where}: {label}.depth_1pct: give depth_1pct or depth_bands, "
                          f"not both")
    if makers.latency_max_ms is not None and makers.latency_ms is None:
        raise ConfigError(f"{where}: {label}.latency_max_ms: needs latency_ms")
    for lo, hi in (("vol_threshold_bps", "vol_threshold_max_bps"), ("calm_s", "calm_max_s"),
                   ("refresh_ms", "refresh_max_ms"), ("latency_ms", "latency_max_ms")):
        if getattr(makers, hi) is not None and getattr(makers, hi) < getattr(makers, lo):
            raise ConfigError(f"{where}: {label}.{hi}: expected >= {lo} "
                              f"({getattr(makers, lo)}), got {getattr(makers, hi)}")
    given = makers.depth_bands or ((Fraction(1), makers.depth_1pct or DEFAULT_DEPTH_1PCT),)
    lo = Fraction(-1)
    for k, (pct, _) in enumerate(given):
        if not any(lo < makers.half_spread_bps + j * makers.spacing_bps <= pct * 100
                   for j in range(makers.levels)):
            name = f"depth_bands[{k}]" if makers.depth_bands else "depth_1pct"
            raise ConfigError(
                f"{where}: {label}.{name}: no quote level within {float(pct):g}% of fair "
                f"beyond the band before (levels sit at half_spread_bps {makers.half_spread_bps}"
                f" + k x spacing_bps {makers.spacing_bps}, k < levels {makers.levels}); "
                f"widen the band or change the ladder")
        lo = pct * 100
    return attrs.evolve(makers, depth_1pct=None, depth_bands=given)


def _shocks(where: str, tables: list, duration_s: int) -> tuple:
    """The ``[[shocks]]``, each inside the run and at its own second."""
    shocks = tuple(build(Shock, t, f"{where}: shocks[{k}]") for k, t in enumerate(tables))
    seen = set()
    for k, shock in enumerate(shocks):
        if shock.at_s >= duration_s:
            raise ConfigError(f"{where}: shocks[{k}].at_s: expected < duration_s "
                              f"({duration_s}), got {shock.at_s}")
        if shock.at_s in seen:
            raise ConfigError(f"{where}: shocks[{k}].at_s: expected one shock per second, "
                              f"got {shock.at_s} twice")
        seen.add(shock.at_s)
    return shocks


def _read_index_file(where: str, name: str) -> tuple:
    path = pathlib.Path(name)
    if not path.is_absolute():
        base = pathlib.Path(where).parent if pathlib.Path(where).exists() else REPLAYS
        path = base / path
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            rows = [r for r in csv.reader(fh) if r and not r[0].startswith("#")]
    except OSError as exc:
        raise ConfigError(f"{where}: index.file: cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{where}: index.file: {path} is not a text (UTF-8) file") from None
    except csv.Error as exc:
        raise ConfigError(f"{path}: not a CSV file of t_s,price rows ({exc})") from None
    if rows and rows[0][:2] == ["t_s", "price"]:
        rows = rows[1:]
    points = []
    for k, row in enumerate(rows):
        if len(row) != 2:
            raise ConfigError(f"{path}: line {k + 2}: expected 't_s,price', got {','.join(row)!r}")
        points.append([row[0], row[1]])
    return _path(f"{path}", points)


def bundled_names() -> list[str]:
    return sorted(p.stem for p in REPLAYS.glob("*.toml"))


def load(name_or_path: str, overrides: list[str] = (), scale: Fraction = Fraction(1)) -> Scenario:
    """Load a bundled scenario by name or a TOML file by path; apply ``--set`` overrides,
    then validate, then scale.  Raises ``ConfigError`` with one line naming the problem."""
    path = pathlib.Path(name_or_path)
    if not path.suffix and not path.exists():
        path = REPLAYS / f"{name_or_path}.toml"
        if not path.exists():
            raise ConfigError(f"{name_or_path}: no such scenario; bundled: "
                              f"{', '.join(bundled_names())} (or give a path to a .toml file)")
    where = str(path)
    data = read_toml(path, where)
    for item in overrides:
        apply_override(data, item)
    _refuse_shadowed(data, overrides, where)
    _unsource(data, overrides)
    try:
        scenario = from_dict(data, where)
    except ConfigError as exc:
        raise _blame_override(exc, where, overrides) from None
    return scale_scenario(scenario, scale)


def _blame_override(exc: ConfigError, where: str, overrides) -> ConfigError:
    """``exc`` (``where: field: what``) naming the ``--set`` that gave ``field`` instead of
    the file: a bad key typed on the command line read as if the bundled file were broken.
    The field's ``[N]`` is spelled ``.N``, as ``--set`` takes it.  Left as it is when no
    override set that field or a table above it.  O(overrides)."""
    head, sep, rest = str(exc).partition(": ")
    field, sep2, what = rest.partition(": ")
    if head != where or not sep or not sep2:
        return exc
    if field.startswith("[") and field.endswith("]") and "." not in field:
        field_key = field[1:-1]         # a whole table: "[traderz]: unknown table"
    else:
        field_key = field
    dotted = field_key.replace("[", ".").replace("]", "")
    for item in reversed(overrides):            # the last --set of a key is the one used
        key = item.partition("=")[0].strip()
        if dotted == key:
            return ConfigError(f"--set {key}: {what}")
        if dotted.startswith(key + ".") or key.startswith(dotted + "."):
            return ConfigError(f"--set {key}: {field}: {what}")
    return exc


def _refuse_shadowed(data: dict, overrides, where: str) -> None:
    """Refuse a ``--set makers.KEY=V`` that every ``[[makers.archetypes]]`` overrides: the
    archetypes' own values win (``_makers``), so it would change nothing -- and a sweep
    over it would draw a flat line that reads as "no effect".  Such keys in the file itself
    are left alone (earlier saved runs carry them).  O(overrides x archetypes)."""
    makers = data.get("makers")
    groups = makers.get("archetypes") if isinstance(makers, dict) else None
    if not isinstance(groups, list) or not groups or \
            not all(isinstance(g, dict) for g in groups):
        return
    for item in overrides:
        parts = item.partition("=")[0].strip().split(".")
        if len(parts) < 2 or parts[0] != "makers" or parts[1] == "archetypes":
            continue
        names = {parts[1], SPELLINGS.get(("makers", parts[1]), parts[1])}
        if all(names & g.keys() for g in groups):
            raise ConfigError(f"--set {item.partition('=')[0].strip()}: every "
                              f"[[makers.archetypes]] of {where} sets its own {parts[1]}, so "
                              f"this changes nothing; set makers.archetypes.N.{parts[1]} "
                              f"(N = 0..{len(groups) - 1})")


def _unsource(data: dict, overrides) -> None:
    """Drop the ``[sources]`` lines of values an override set or removed (``--set flows=[]``
    on a catalogue event): the number is the user's now, not the source's, and a line whose
    key is gone must not refuse the run.  O(overrides x lines)."""
    table = data.get("sources")
    if not overrides or not isinstance(table, dict):
        return
    keys = [item.partition("=")[0].strip() for item in overrides]
    keys = [k for k in keys if k.split(".")[0] != "sources"]
    data["sources"] = {line: text for line, text in table.items()
                       if not any(line == k or line.startswith(k + ".")
                                  or k.startswith(line + ".") for k in keys)}


#: Keys that are two spellings of one setting: overriding one drops the other.
SPELLINGS = {("makers", "depth_1pct"): "depth_bands", ("makers", "depth_bands"): "depth_1pct"}


def apply_override(data: dict, item: str) -> None:
    """``a.b.c=value`` into ``data`` (value parsed as TOML, else a string); a key with
    another spelling (``SPELLINGS``) replaces it."""
    key, sep, raw = item.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--set {item}: expected KEY=VALUE (e.g. traders.count=1000)")
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    except RecursionError:
        raise ConfigError(f"--set {key.strip()}: value nested too deeply") from None
    except ValueError:      # an integer beyond Python's int-from-text digit limit
        raise ConfigError(f"--set {key.strip()}: expected a value, got an integer of more "
                          f"than {sys.get_int_max_str_digits()} digits") from None
    parts = key.strip().split(".")
    node = data
    for part in parts[:-1]:
        if isinstance(node, list):      # an array of tables: flows.0.window=...
            if not (part.isdecimal() and part.isascii()) or int(part) >= len(node):
                raise ConfigError(f"--set {item}: {part!r} is not an index of that array "
                                  f"(0..{len(node) - 1})")
            nxt = node[int(part)]
        else:
            nxt = node.setdefault(part, {})
        if not isinstance(nxt, (dict, list)):
            raise ConfigError(f"--set {item}: {part} is not a table")
        node = nxt
    if isinstance(node, list):
        raise ConfigError(f"--set {item}: name a key inside the array's table "
                          f"(e.g. flows.0.window)")
    node[parts[-1]] = value
    other = SPELLINGS.get(tuple(parts))
    if other is not None:       # one setting, two spellings: --set replaces the setting
        node.pop(other, None)


def scale_scenario(s: Scenario, f: Fraction) -> Scenario:
    """Shrink population, depth, flows, stubs, the takers' sizes and the fund by ``f``
    (0 < f <= 1)."""
    f = Fraction(f)
    if not 0 < f <= 1:
        raise ConfigError(f"--scale: expected 0 < F <= 1, got {float(f)}")
    if f == 1:
        return s
    d = Decimal(f.numerator) / Decimal(f.denominator)

    def q(x: Decimal) -> Decimal:
        return (x * d).quantize(Decimal("0.01"))

    traders = attrs.evolve(s.traders, count=max(1, int(s.traders.count * f)) if s.traders.count
                           else 0)
    def group(m: Makers) -> Makers:
        return attrs.evolve(m, depth_bands=tuple((p, q(n)) for p, n in m.depth_bands),
                            capital=q(m.capital), inventory_limit=q(m.inventory_limit),
                            loss_threshold=q(m.loss_threshold),
                            toxic_notional=q(m.toxic_notional),
                            hedge_notional_per_s=q(m.hedge_notional_per_s))

    makers = attrs.evolve(group(s.makers),
                          archetypes=tuple(group(g) for g in s.makers.archetypes))
    venue = attrs.evolve(s.venue, insurance_fund=q(s.venue.insurance_fund))
    funding = s.funding if s.funding.impact_notional is None else \
        attrs.evolve(s.funding, impact_notional=q(s.funding.impact_notional))
    flows = tuple(attrs.evolve(x, notional_per_s=q(x.notional_per_s)) for x in s.flows)
    stubs = tuple(attrs.evolve(x, notional=q(x.notional)) for x in s.stubs)
    shocks = tuple(attrs.evolve(x, notional=q(x.notional)) for x in s.shocks)
    arbitrage = attrs.evolve(s.arbitrage, capital=q(s.arbitrage.capital),
                             inventory_limit=q(s.arbitrage.inventory_limit))
    background = attrs.evolve(s.background, notional_median=q(s.background.notional_median))
    dips = tuple(attrs.evolve(x, notional=q(x.notional)) for x in s.dip_buyers)
    # Breaker caps in quote units shrink with the rest of the scenario.
    breaker = scale_params(s.breaker, f, f"{s.source_path or 'scenario'}: breaker")
    # So do the venue's rates, rounded up and never to 0 (= unlimited) -- assumed, as a
    # cascade's load on them (stops, liquidation and population orders) shrinks with the
    # population.  The makers' messages do not (their count and refresh stay), so the
    # message rate keeps their nominal load (one message a refresh each) whole and scales
    # only the rest.
    makers_load = sum(g.count * Fraction(1000, g.refresh_ms)
                      for g in s.makers.archetypes or (s.makers,))

    def rate(key: str) -> int:
        full = getattr(s.capacity, key)
        if key == "messages_per_s" and full > makers_load:
            return max(1, ceil_f(makers_load + (full - makers_load) * f))
        return max(1, ceil_f(full * f))

    capacity = attrs.evolve(s.capacity, **{k: rate(k)
                                           for k in ("messages_per_s", "liquidations_per_s")
                                           if getattr(s.capacity, k)})
    arrivals = s.arrivals if s.arrivals is None else attrs.evolve(
        s.arrivals, rate_per_s=s.arrivals.rate_per_s * d,
        close_rate_per_s=s.arrivals.close_rate_per_s * d)
    collateral = s.collateral if s.collateral is None else attrs.evolve(
        s.collateral,
        assets=tuple(attrs.evolve(a, book_depth=q(a.book_depth)) for a in s.collateral.assets),
        flows=tuple(attrs.evolve(x, notional_per_s=q(x.notional_per_s))
                    for x in s.collateral.flows))
    return attrs.evolve(s, traders=traders, makers=makers, venue=venue, flows=flows,
                        stubs=stubs, shocks=shocks, breaker=breaker, funding=funding, scale=f,
                        collateral=collateral, arbitrage=arbitrage, background=background, dip_buyers=dips,
                        arrivals=arrivals, capacity=capacity)


def clone(s: Scenario) -> Scenario:
    return copy.deepcopy(s)
