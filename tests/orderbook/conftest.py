"""Shared fixtures for the order-book unit tests.

``book`` is an ``OrderBook`` behind a thin proxy that runs ``OrderBook._check()`` (every
structural invariant, and "not crossed" unless halted) after each public call, so every
step of every test is checked without repeating ``book._check()`` by hand.

Helpers are exposed as fixtures (not importable functions) so that this conftest never
clashes with another ``conftest`` module elsewhere in the test tree.
"""
from __future__ import annotations

import pytest

from orderbook import OrderBook


class CheckedBook:
    """Proxy for ``OrderBook`` that calls ``_check()`` after every public method call."""

    __slots__ = ("book",)

    def __init__(self, book: OrderBook | None = None) -> None:
        self.book = OrderBook() if book is None else book
        self.book._check()

    def __getattr__(self, name):
        attr = getattr(self.book, name)
        if name.startswith("_") or not callable(attr):
            return attr

        def checked(*args, **kwargs):
            result = attr(*args, **kwargs)
            self.book._check()
            return result

        checked.__name__ = name
        return checked

    def __len__(self) -> int:
        return len(self.book)

    def __contains__(self, order_id) -> bool:
        return order_id in self.book

    def state(self) -> tuple:
        """Everything observable about the book, for "unchanged" comparisons."""
        b = self.book
        return (
            tuple((p, q, n, tuple(b.orders_at(1, p))) for p, q, n in b.levels(1)),
            tuple((p, q, n, tuple(b.orders_at(-1, p))) for p, q, n in b.levels(-1)),
            b.best_bid(), b.best_ask(), b.volume(1), b.volume(-1), len(b), b.halted,
            b.last_price,
        )


@pytest.fixture
def book() -> CheckedBook:
    """A fresh, empty book whose invariants are asserted after every call."""
    return CheckedBook()


@pytest.fixture
def new_book():
    """Factory for extra fresh checked books (e.g. inside hypothesis tests)."""
    return CheckedBook


@pytest.fixture
def fills():
    """``fills(result)`` -> [(maker_id, taker_id, price, qty), ...] in execution order."""
    def _fills(result) -> list[tuple[int, int, int, int]]:
        return [(f.maker_id, f.taker_id, f.price, f.qty) for f in result.fills]
    return _fills


@pytest.fixture
def queue():
    """``queue(book, side, price)`` -> [(order_id, qty), ...] in time priority."""
    def _queue(b, side, price) -> list[tuple[int, int]]:
        return [(o.order_id, o.qty) for o in b.orders_at(side, price)]
    return _queue
