"""The packed event log gives back exactly what was appended, in every form it offers."""
from __future__ import annotations

import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.venue.events import EVENT_DTYPE, ORDER_ROW, ROW, EventKind, EventLog, order_rows

BIG = (1 << 63) - 1


def _log() -> EventLog:
    log = EventLog()
    log.append(5, EventKind.TRADE, side=-1, inst=3, account=0xFFFF_FFF1, other=7,
               order_id=(1 << 64) - 1, other_id=9, price=-BIG - 1, qty=BIG, value=-42,
               reason=65535)
    log.append(6, EventKind.ORDER_ACCEPTED, side=1, account=100, order_id=2, price=10, qty=1)
    log.append(6, EventKind.ORDER_CANCELLED, side=1, account=100, order_id=2, price=10, qty=1)
    return log


def test_every_column_round_trips_at_the_edges_of_its_type():
    arr = _log().to_array()
    assert arr.dtype == EVENT_DTYPE
    first = arr[0].tolist()
    assert first == (5, 0, EventKind.TRADE, -1, 3, 0xFFFF_FFF1, 7, (1 << 64) - 1, 9, -BIG - 1,
                     BIG, -42, 65535)
    assert arr["seq"].tolist() == [0, 1, 2]


def test_rows_kinds_and_arrays_agree_from_any_start():
    log = _log()
    assert [tuple(r) for r in log.to_array().tolist()] == log.rows()
    assert log.rows(start=1) == log.rows()[1:]
    assert log.rows(EventKind.ORDER_CANCELLED) == [log.rows()[2]]
    assert log.kinds() == [EventKind.TRADE, EventKind.ORDER_ACCEPTED, EventKind.ORDER_CANCELLED]
    assert log.kinds(2) == [EventKind.ORDER_CANCELLED]
    assert log.to_array(1).tolist() == log.to_array().tolist()[1:]
    assert len(log) == 3


@pytest.mark.parametrize("field,value", [("account", -1), ("qty", 1 << 63), ("side", 200),
                                         ("order_id", -5)])
def test_a_value_outside_its_column_fails_when_appended_and_logs_nothing(field, value):
    log = _log()
    with pytest.raises(struct.error):
        log.append(7, EventKind.DEPOSITED, **{field: value})
    assert len(log) == 3


def test_a_view_equals_a_copy_and_the_log_cannot_grow_under_it():
    log = _log()
    view = log.to_array(copy=False)
    assert np.array_equal(view, log.to_array())
    assert not view.flags.writeable
    with pytest.raises(BufferError):
        log.append(8, EventKind.DEPOSITED, value=1)
    del view
    log.append(8, EventKind.DEPOSITED, value=1)
    assert log.to_array()["seq"].tolist() == [0, 1, 2, 3]


def test_equal_logs_have_equal_digests_and_different_logs_do_not():
    a, b = _log(), _log()
    assert a.digest() == b.digest()
    b.append(9, EventKind.WITHDREW, value=1)
    assert a.digest() != b.digest()


@settings(max_examples=200, deadline=None)
@given(ts=st.integers(0, 2**63 - 1), kind=st.sampled_from([1, 4]), side=st.sampled_from([1, -1]),
       inst=st.integers(0, 2**16 - 1), account=st.integers(0, 2**32 - 1),
       order_id=st.integers(0, 2**64 - 1), price=st.integers(-2**63, 2**63 - 1),
       qty=st.integers(-2**63, 2**63 - 1))
def test_the_short_order_row_packs_the_same_bytes_as_the_full_row(ts, kind, side, inst, account,
                                                                  order_id, price, qty):
    full = ROW.pack(ts, 0, kind, side, inst, account, 0, order_id, 0, price, qty, 0, 0)
    assert ORDER_ROW.pack(ts, kind, side, inst, account, order_id, price, qty) == full


@settings(max_examples=100, deadline=None)
@given(ts=st.integers(0, 2**63 - 1), side=st.sampled_from([1, -1]),
       account=st.integers(0, 2**32 - 1), first=st.integers(0, 2**63),
       orders=st.lists(st.tuples(st.integers(1, 2**63 - 1), st.integers(1, 2**63 - 1)),
                       max_size=150))
def test_batched_order_rows_are_the_bytes_of_the_rows_packed_one_by_one(ts, side, account, first,
                                                                      orders):
    ids = range(first, first + len(orders))
    prices = [p for p, _ in orders]
    qtys = [q for _, q in orders]
    one_by_one = b"".join(ORDER_ROW.pack(ts, EventKind.ORDER_ACCEPTED, side, 0, account, i, p, q)
                          for i, p, q in zip(ids, prices, qtys))
    assert order_rows(ts, EventKind.ORDER_ACCEPTED, side, 0, account, ids, prices, qtys) \
        == one_by_one
