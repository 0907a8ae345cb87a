"""Validated configuration: turning user dicts (TOML, ``--set``) into frozen attrs classes.

Every configuration class is ``@attrs.frozen`` and built with ``build(cls, data, where)``,
which rejects unknown keys and converts each field with the converter named in the field's
metadata, so that every error is one ``ConfigError`` line naming the file, the dotted field
and what was expected.  Decimal values may be written as TOML strings, integers or floats;
a float is read back through its shortest repr (``Decimal(str(x))``), which recovers the
literal the user typed -- never ``int(x * scale)``.
"""
from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation
from fractions import Fraction

import attrs


class ConfigError(ValueError):
    """Bad user input: the message is the one line to print (file: field: expected ...)."""


def _fail(where: str, expected: str, got) -> ConfigError:
    return ConfigError(f"{where}: expected {expected}, got {got!r}")


MAX_AMOUNT = Decimal(10) ** 10
"""The largest money amount or price a scenario may give, in quote units (ten billion).
Inside, amounts are int64 quantums (the event log's columns): at the finest bundled
quantum, 1e-8 (Binance USDT-M), this keeps every amount at or below 1e18 < 2**63."""

MAX_EXPONENT = 40
"""A number given as text may be at most 1e40 and at least 1e-40 in size (or 0): beyond,
exact arithmetic on it (a ``Fraction`` of ``1e-100000000``) would run for minutes."""


def decimal(where: str, value, *, positive: bool = False, non_negative: bool = True) -> Decimal:
    """A finite decimal from str/int/float (float via its repr)."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float, Decimal)):
        raise _fail(where, "a number", value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _fail(where, "a finite number", value)
        value = repr(value)
    if isinstance(value, str) and not value.isascii():    # Decimal reads other scripts' digits
        raise _fail(where, "a decimal number (ASCII digits)", value)
    try:
        d = Decimal(value)
    except (InvalidOperation, ValueError):
        raise _fail(where, "a decimal number", value) from None
    if not d.is_finite():
        raise _fail(where, "a finite number", value)
    if d and not -MAX_EXPONENT <= d.adjusted() <= MAX_EXPONENT:
        raise _fail(where, f"a number of size 1e-{MAX_EXPONENT} to 1e{MAX_EXPONENT}", value)
    if positive and d <= 0:
        raise _fail(where, "a number > 0", value)
    if non_negative and d < 0:
        raise _fail(where, "a number >= 0", value)
    return d


def amount(where: str, value, *, positive: bool = False) -> Decimal:
    """A money amount or price in quote units: ``decimal``, at most ``MAX_AMOUNT``."""
    d = decimal(where, value, positive=positive)
    if d > MAX_AMOUNT:
        raise _fail(where, f"an amount <= {MAX_AMOUNT:,} (quote units)", value)
    return d


def fraction(where: str, value, lo: Fraction | None = None, hi: Fraction | None = None) -> Fraction:
    f = Fraction(decimal(where, value, non_negative=False))
    if lo is not None and f < lo or hi is not None and f > hi:
        bounds = f">= {lo}" if hi is None else f"<= {hi}" if lo is None else f"in [{lo}, {hi}]"
        raise _fail(where, f"a number {bounds}", value)
    return f


def scale_ratio(where: str, value) -> Fraction:
    """A scale in (0, 1]: a decimal, or an exact ratio written ``"a/b"`` (short ints), as a
    run's ``scenario.toml`` writes a scale back."""
    if isinstance(value, str) and "/" in value and len(value) <= 40 and value.isascii():
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


def bounded(lo, hi, positive: bool = False):
    """A converter: a ``decimal`` in [``lo``, ``hi``] (> 0 when ``positive``)."""
    lo, hi = Decimal(lo), Decimal(hi)

    def convert(where: str, value) -> Decimal:
        d = decimal(where, value, positive=positive, non_negative=lo >= 0)
        if not lo <= d <= hi:
            raise _fail(where, f"a number in [{lo}, {hi}]", value)
        return d
    return convert


def share(where: str, value) -> Fraction:
    """A fraction in [0, 1]."""
    return fraction(where, value, Fraction(0), Fraction(1))


def integer(where: str, value, lo: int | None = 0, hi: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(where, "an integer", value)
    if lo is not None and value < lo or hi is not None and value > hi:
        bounds = f">= {lo}" if hi is None else f"in [{lo}, {hi}]"
        raise _fail(where, f"an integer {bounds}", value)
    return value


def boolean(where: str, value) -> bool:
    if not isinstance(value, bool):
        raise _fail(where, "true or false", value)
    return value


def text(where: str, value, choices: tuple[str, ...] | None = None) -> str:
    if not isinstance(value, str) or not value:
        raise _fail(where, "a non-empty string", value)
    if choices is not None and value not in choices:
        raise _fail(where, f"one of {', '.join(choices)}", value)
    return value


def window(where: str, value) -> tuple[Fraction, Fraction] | None:
    """A [start_s, end_s] pair with start <= end, or None when absent."""
    if value is None:
        return None
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise _fail(where, "[start_s, end_s]", value)
    a = fraction(f"{where}[0]", value[0], Fraction(0))
    b = fraction(f"{where}[1]", value[1], Fraction(0))
    if b < a:
        raise _fail(where, "end_s >= start_s", value)
    return a, b


def field(convert, default=attrs.NOTHING, **kwargs):
    """An attrs field whose user value is converted by ``convert(where, value)``."""
    return attrs.field(default=default, metadata={"convert": convert}, **kwargs)


def read_toml(path, where: str, what: str = "a scenario") -> dict:
    """A TOML file's tables, or one ``ConfigError`` line naming ``where``: unreadable, not
    TOML, not UTF-8 text, nested too deeply to parse, or an integer too long for ``int``
    (``what`` names what was expected)."""
    import pathlib
    import sys
    import tomllib
    try:
        return tomllib.loads(pathlib.Path(path).read_text(encoding="utf-8-sig"))
    except OSError as exc:
        raise ConfigError(f"{where}: cannot read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: not valid TOML: {exc}") from None
    except UnicodeDecodeError:  # before ValueError, of which it is a subclass
        raise ConfigError(f"{where}: not a text (UTF-8) file") from None
    except ValueError:      # an integer literal beyond Python's int-from-text digit limit
        raise ConfigError(f"{where}: not {what}: an integer of more than "
                          f"{sys.get_int_max_str_digits()} digits") from None
    except RecursionError:
        raise ConfigError(f"{where}: not {what}: arrays or tables nested too deeply") \
            from None


def build(cls, data, where: str):
    """Build ``cls`` from a dict, naming ``where.field`` in every error."""
    if not isinstance(data, dict):
        raise _fail(where, "a table", data)
    fields = {f.name: f for f in attrs.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(f"{where}.{unknown[0]}: unknown key; expected one of "
                          f"{', '.join(sorted(fields))}")
    kwargs = {}
    for name, f in fields.items():
        if name not in data:
            if f.default is attrs.NOTHING:
                raise ConfigError(f"{where}.{name}: missing; this key is required")
            continue
        convert = f.metadata.get("convert")
        kwargs[name] = data[name] if convert is None else convert(f"{where}.{name}", data[name])
    return cls(**kwargs)


def as_plain(obj):
    """attrs instance -> dict of TOML-friendly values (for the resolved scenario file)."""
    if attrs.has(type(obj)):
        return {f.name: as_plain(getattr(obj, f.name)) for f in attrs.fields(type(obj))
                if getattr(obj, f.name) is not None}
    if isinstance(obj, (list, tuple)):
        return [as_plain(x) for x in obj]
    if isinstance(obj, dict):
        return {k: as_plain(v) for k, v in obj.items()}
    if isinstance(obj, Fraction):
        if obj.denominator == 1:
            return int(obj)
        d = Decimal(obj.numerator) / Decimal(obj.denominator)
        return str(d) if Fraction(d) == obj else f"{obj.numerator}/{obj.denominator}"
    if isinstance(obj, Decimal):
        return str(obj)
    return obj
