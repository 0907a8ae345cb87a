"""Scenarios: what to replay, read from TOML, validated, scaled and overridden.

A scenario file has these tables (every key is optional unless marked required; the bundled
``replays/*.toml`` are worked examples):

``[scenario]``   name (required), description, toy, sources, duration_s, event_start_s,
                 sample_interval_s, max_cascade_rounds, vacuum_fraction
``[venue]``      instrument preset and overrides, waterfall, mark policy, ADL ranking,
                 insurance fund, fund offload rule
``[index]``      the exogenous index/oracle path: ``path = [[t_s, price], ...]`` (linear
                 between points) or ``file`` (CSV ``t_s,price``), plus an optional seeded
                 random walk ``noise_bps`` (standard deviation per second, in bps)
``[makers]``     the market makers' quoting and withdrawal rules
``[traders]``    the leveraged population (the liquidation map)
``[[flows]]``    sell/buy programs: notional per second over a window
``[[stubs]]``    stale deep resting orders: offset from the start price and notional
``[[shocks]]``   macro shocks: at ``at_s`` the index gaps by ``index_pct`` (kept from then
                 on) and an optional one-off market order of ``notional`` hits the book
``[frictions]``  windows in which top-ups are blocked, the venue is out, orders are delayed
``[capacity]``   the venue's processing rates (``engine.venue.capacity``), all off by default:
                 ``messages_per_s`` (int, participant messages per second the matching
                 engine serves, first in first out; 0 or absent = unlimited),
                 ``liquidations_per_s`` (int, waterfalls the liquidation engine starts per
                 whole second; 0 or absent = unlimited), ``stale_mark_after_ms`` (int ms;
                 the mark is not republished while the matching engine's backlog exceeds it;
                 absent = never stale; needs ``messages_per_s``)
``[facts]``      (catalogue) the figures a historical replay must reproduce, with sources
``[run]``        written into a run's resolved ``scenario.toml``: the breaker, seed and
                 scale that produced it.  Replaying that file uses its breaker and seed
                 unless ``--breaker``/``--seed`` say otherwise, so it gives the same events;
                 the scale is informational (the file holds the scaled values).

``--scale F`` multiplies the population, the makers' depth, flows, stubs, shock orders,
the insurance fund and the ``[capacity]`` rates (rounded up, at least 1: a smaller
population sends fewer stop and liquidation orders) by F together, so the shape is kept;
so are breaker caps in quote
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
import tomllib
from decimal import Decimal
from fractions import Fraction

import attrs

from ..breakers import check_tables, scale_params, split_names
from ..config import (ConfigError, amount, as_plain, boolean, bounded, build, decimal, field,
                      fraction, integer, share, text, window)
from ..venue.instruments import ADL_RANKINGS, BUNDLED_INSTRUMENTS, WATERFALLS
from ..venue.rounding import ceil_f, floor_f

MARK_POLICIES = ("binance", "hyperliquid", "last", "mid")
VOL_SOURCES = ("index", "last", "mark")    # what the makers' volatility rule watches
REPLAYS = pathlib.Path(__file__).resolve().parents[2] / "replays"


def _texts(where, value):
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: expected a list of strings, got {value!r}")
    return tuple(value)


@attrs.frozen
class Meta:
    name: str = field(text)
    description: str = field(lambda w, v: text(w, v), default="")
    toy: bool = field(boolean, default=False)
    sources: tuple = field(_texts, default=())
    duration_s: int = field(lambda w, v: integer(w, v, 1, 7 * 86400), default=180)
    event_start_s: int = field(lambda w, v: integer(w, v, 0), default=30)
    sample_interval_s: int = field(lambda w, v: integer(w, v, 1, 3600), default=1)
    max_cascade_rounds: int = field(lambda w, v: integer(w, v, 1, 1000), default=20)
    vacuum_fraction: Fraction = field(share, default=Fraction(1, 4))
    step_ms: int = field(lambda w, v: integer(w, v, 1, 60_000), default=100)


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
    taker_fee_ppm: int | None = field(lambda w, v: integer(w, v, 0, 100_000), default=None)
    maker_fee_ppm: int | None = field(lambda w, v: integer(w, v, -10_000, 100_000), default=None)
    clearance_fee_ppm: int | None = field(lambda w, v: integer(w, v, 0, 100_000), default=None)


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
        pct = fraction(f"{where}[{k}][0]", item[0], Fraction(0), Fraction(100))
        notional = amount(f"{where}[{k}][1]", item[1], positive=True)
        if pct == 0:
            raise ConfigError(f"{where}[{k}][0]: expected a percentage > 0, got {item[0]!r}")
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


@attrs.frozen
class Flow:
    kind: str = field(lambda w, v: text(w, v, ("sell", "buy")))
    window: tuple = field(window)
    notional_per_s: Decimal = field(lambda w, v: amount(w, v, positive=True))
    limit_pct: Decimal = field(decimal, default=Decimal("5"))


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


@attrs.frozen
class Frictions:
    topup_blocked: tuple | None = field(window, default=None)
    outage: tuple | None = field(window, default=None)
    order_latency_ms: int = field(lambda w, v: integer(w, v, 0, 600_000), default=0)


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
class ScenarioUnits:
    """Every decimal amount of a scenario as the integers the loop uses, for one instrument
    (``Scenario.in_units``): money in quote quantums, rates in parts per million, each
    rounded down (against nobody: these are the scenario's own sizes and caps)."""

    insurance_fund: int
    fund_limit_ppm: int
    offload_fraction_ppm: int
    offload_band_ppm: int
    maker_capital: int                  # all makers together
    maker_inventory_limit: int          # per maker
    maker_loss_threshold: int           # per maker
    maker_depth_bands: tuple            # ((edge in bps, exact), cumulative quantums), all makers
    flow_notionals: tuple               # per second, one per [[flows]] entry
    shock_notionals: tuple              # one per [[shocks]] entry
    stub_notionals: tuple               # one per [[stubs]] entry


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
    capacity: Capacity = Capacity()
    facts: dict = attrs.field(factory=dict)
    breaker: dict = attrs.field(factory=dict)
    run: dict = attrs.field(factory=dict)       # [run]: breaker, seed, scale (see module doc)
    source_path: str = ""
    scale: Fraction = Fraction(1)      # set by --scale (informational: values are scaled)

    def in_units(self, instrument) -> ScenarioUnits:
        """The scenario's amounts in ``instrument``'s integer units, converted once, here,
        rounding down (``ScenarioUnits``).  O(flows + shocks + stubs + bands)."""
        qpu = instrument.quanta_per_unit
        venue, makers = self.venue, self.makers
        return ScenarioUnits(
            insurance_fund=_quanta(venue.insurance_fund, qpu),
            fund_limit_ppm=_ppm(venue.fund_limit),
            offload_fraction_ppm=_ppm(venue.offload_fraction),
            offload_band_ppm=_ppm(venue.offload_band),
            maker_capital=_quanta(makers.capital, qpu),
            maker_inventory_limit=_quanta(makers.inventory_limit, qpu),
            maker_loss_threshold=_quanta(makers.loss_threshold, qpu),
            maker_depth_bands=tuple((Fraction(pct) * 100, _quanta(notional, qpu))
                                    for pct, notional in makers.depth_bands),
            flow_notionals=tuple(_quanta(f.notional_per_s, qpu) for f in self.flows),
            shock_notionals=tuple(_quanta(s.notional, qpu) for s in self.shocks),
            stub_notionals=tuple(_quanta(s.notional, qpu) for s in self.stubs))

    def resolved(self) -> dict:
        """The scenario as a plain dict (written next to a run's outputs)."""
        out = {"scenario": as_plain(self.meta), "venue": as_plain(self.venue),
               "index": as_plain(self.index), "makers": as_plain(self.makers),
               "traders": as_plain(self.traders), "flows": as_plain(list(self.flows)),
               "stubs": as_plain(list(self.stubs)), "shocks": as_plain(list(self.shocks)),
               "frictions": as_plain(self.frictions)}
        if self.capacity != Capacity():
            out["capacity"] = as_plain(self.capacity)
        if self.breaker:
            out["breaker"] = as_plain(self.breaker)
        if self.facts:
            out["facts"] = as_plain(self.facts)
        return out


TABLES = {"scenario", "venue", "index", "makers", "traders", "flows", "stubs", "shocks",
          "frictions", "capacity", "facts", "breaker", "run"}


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
    index = build(Index, data.get("index", {}), f"{where}: index")
    if index.file is not None and index.path:
        raise ConfigError(f"{where}: index.file: give index.path or index.file, not both")
    if index.file is not None:
        index = attrs.evolve(index, path=_read_index_file(where, index.file))
    for key in ("flows", "stubs", "shocks"):
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
    frictions = build(Frictions, data.get("frictions", {}), f"{where}: frictions")
    windows = [(f"flows[{k}].window", f.window) for k, f in enumerate(flows)]
    windows += [(f"frictions.{name}", getattr(frictions, name))
                for name in ("topup_blocked", "outage")]
    for name, w in windows:
        if w is not None and w[0] >= meta.duration_s:
            raise ConfigError(f"{where}: {name}: expected to start before duration_s "
                              f"({meta.duration_s}), got {[float(w[0]), float(w[1])]}")
    return Scenario(
        meta=meta,
        venue=build(Venue, data.get("venue", {}), f"{where}: venue"),
        index=index,
        makers=_makers(where, data.get("makers", {})),
        traders=_traders(where, data.get("traders", {})),
        flows=flows,
        stubs=tuple(build(Stub, s, f"{where}: stubs[{k}]")
                    for k, s in enumerate(data.get("stubs", []))),
        shocks=_shocks(where, data.get("shocks", []), meta.duration_s),
        frictions=frictions,
        capacity=_capacity(where, data.get("capacity", {})),
        facts=_facts(f"{where}: facts", data.get("facts", {})),
        breaker=dict(data.get("breaker", {})),
        run=_run_table(f"{where}: run", data.get("run", {})),
        source_path=where,
    )


def _run_table(where: str, table: dict) -> dict:
    """``[run]``: ``breaker`` (policy names joined by '+'), ``seed`` (int >= 0) and ``scale``
    (informational), each optional; nothing else."""
    unknown = sorted(set(table) - {"breaker", "seed", "scale"})
    if unknown:
        raise ConfigError(f"{where}.{unknown[0]}: unknown key; expected breaker, seed or scale")
    out = {}
    if "breaker" in table:
        try:
            out["breaker"] = "+".join(split_names(text(f"{where}.breaker", table["breaker"])))
        except ConfigError as exc:
            raise ConfigError(f"{where}.breaker: {str(exc).partition(': ')[2]}") from None
    if "seed" in table:
        out["seed"] = integer(f"{where}.seed", table["seed"], 0)
    if "scale" in table:
        out["scale"] = str(_ratio(f"{where}.scale", table["scale"]))
    return out


def _ratio(where: str, value) -> Fraction:
    """A scale in (0, 1]: a decimal, or an exact ratio written ``"a/b"`` (short ints)."""
    if isinstance(value, str) and "/" in value and len(value) <= 40:
        try:
            f = Fraction(value)
        except (ValueError, ZeroDivisionError):
            f = Fraction(0)
    else:
        f = fraction(where, value, Fraction(0))
    if not 0 < f <= 1:
        raise ConfigError(f"{where}: expected a number in (0, 1] (a decimal or 'a/b'), "
                          f"got {value!r}")
    return f


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


def _traders(where: str, table) -> Traders:
    """The population, its ranges the right way round."""
    traders = build(Traders, table, f"{where}: traders")
    for lo, hi in (("leverage_min", "leverage_max"), ("notional_min", "notional_max")):
        if getattr(traders, lo) > getattr(traders, hi):
            raise ConfigError(f"{where}: traders.{lo}: expected <= {hi} "
                              f"({getattr(traders, hi)}), got {getattr(traders, lo)}")
    return traders


def _makers(where: str, table) -> Makers:
    """The makers with their depth profile resolved to bands, each band holding at least
    one quote level (level k sits ``half_spread_bps + k x spacing_bps`` from fair)."""
    makers = build(Makers, table, f"{where}: makers")
    if makers.depth_1pct is not None and makers.depth_bands is not None:
        raise ConfigError(f"{where}: makers.depth_1pct: give depth_1pct or depth_bands, "
                          f"not both")
    given = makers.depth_bands or ((Fraction(1), makers.depth_1pct or DEFAULT_DEPTH_1PCT),)
    lo = Fraction(-1)
    for k, (pct, _) in enumerate(given):
        if not any(lo < makers.half_spread_bps + j * makers.spacing_bps <= pct * 100
                   for j in range(makers.levels)):
            name = f"depth_bands[{k}]" if makers.depth_bands else "depth_1pct"
            raise ConfigError(
                f"{where}: makers.{name}: no quote level within {float(pct):g}% of fair "
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
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except OSError as exc:
        raise ConfigError(f"{where}: cannot read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{where}: not a text (UTF-8) file") from None
    except RecursionError:
        raise ConfigError(f"{where}: not a scenario: arrays or tables nested too deeply") \
            from None
    for item in overrides:
        apply_override(data, item)
    scenario = from_dict(data, where)
    return scale_scenario(scenario, scale)


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
    parts = key.strip().split(".")
    node = data
    for part in parts[:-1]:
        if isinstance(node, list):      # an array of tables: flows.0.window=...
            if not part.isdigit() or int(part) >= len(node):
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
    """Shrink population, depth, flows, stubs and the fund by ``f`` (0 < f <= 1)."""
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
    makers = attrs.evolve(s.makers,
                          depth_bands=tuple((p, q(n)) for p, n in s.makers.depth_bands),
                          capital=q(s.makers.capital),
                          inventory_limit=q(s.makers.inventory_limit),
                          loss_threshold=q(s.makers.loss_threshold))
    venue = attrs.evolve(s.venue, insurance_fund=q(s.venue.insurance_fund))
    flows = tuple(attrs.evolve(x, notional_per_s=q(x.notional_per_s)) for x in s.flows)
    stubs = tuple(attrs.evolve(x, notional=q(x.notional)) for x in s.stubs)
    shocks = tuple(attrs.evolve(x, notional=q(x.notional)) for x in s.shocks)
    # Breaker caps in quote units shrink with the rest of the scenario.
    breaker = scale_params(s.breaker, f, f"{s.source_path or 'scenario'}: breaker")
    # So do the venue's rates, rounded up and never to 0 (= unlimited).  Scaled: assumed,
    # as a cascade's load on them (stops, liquidation orders) shrinks with the population;
    # the makers' few messages do not.
    capacity = attrs.evolve(s.capacity, **{k: max(1, ceil_f(getattr(s.capacity, k) * f))
                                           for k in ("messages_per_s", "liquidations_per_s")
                                           if getattr(s.capacity, k)})
    return attrs.evolve(s, traders=traders, makers=makers, venue=venue, flows=flows,
                        stubs=stubs, shocks=shocks, breaker=breaker, capacity=capacity, scale=f)


def clone(s: Scenario) -> Scenario:
    return copy.deepcopy(s)
