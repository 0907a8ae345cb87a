"""``Exchange.mass_quote`` is a faster way to send orders, never a different one: its log and
its end state equal those of the same cancels and post-only submits sent one by one."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from orderbook.enums import GTC, LIMIT, STP_EXPIRE_MAKER

MAKER, OTHER = 10, 11

quotes = st.lists(st.tuples(st.integers(99_950, 100_050), st.integers(-1, 5)), max_size=12)


def _venue(eng):
    """An exchange with a maker and another account, each resting a few orders."""
    ex = eng.exchange()
    for acct in (MAKER, OTHER):
        ex.open_account(0, acct, deposit=10**7 * eng.Q)
    ids = {MAKER: [], OTHER: []}
    for k, (acct, side, price) in enumerate([(MAKER, 1, 99_990), (MAKER, -1, 100_010),
                                             (OTHER, 1, 99_980), (OTHER, -1, 100_020),
                                             (MAKER, 1, 99_970)]):
        r = ex.submit(0, acct, 0, side, 2 + k, price)
        ids[acct].append(r.order_id)
    return ex, ids


def _state(ex):
    book = ex.books[0]
    return (bytes(ex.log.buffer), sorted(ex._orders.items()), book.top(1, 50), book.top(-1, 50),
            {a: sorted(ex.accounts[a].open_orders) for a in (MAKER, OTHER)}, ex._next_oid)


@settings(max_examples=150, deadline=None)
@given(side=st.sampled_from([1, -1]), picks=st.lists(st.integers(0, 6), max_size=6),
       quotes=quotes)
def test_mass_quote_logs_and_ends_exactly_as_the_same_orders_sent_one_by_one(eng, side, picks,
                                                                           quotes):
    fast, ids = _venue(eng)
    slow, _ = _venue(eng)
    pool = ids[MAKER] + ids[OTHER] + [999_999, ids[MAKER][0]]    # unknown id, a repeat
    cancels = [pool[i] for i in picks]
    placed = fast.mass_quote(5, MAKER, 0, side, cancels, quotes)
    expect = {}
    for oid in cancels:
        if slow._orders.get(oid, (None,))[0] == MAKER:
            slow.cancel(5, oid)
    for price, qty in quotes:
        r = slow.submit(5, MAKER, 0, side, qty, price, GTC, LIMIT, True, False, STP_EXPIRE_MAKER)
        if r is not None and r.resting_qty:
            expect[price] = r.order_id
    assert placed == expect
    assert _state(fast) == _state(slow)
    fast.books[0]._check()


def test_mass_quote_never_cancels_another_accounts_order(eng):
    ex, ids = _venue(eng)
    ex.mass_quote(5, MAKER, 0, 1, ids[OTHER], [])
    assert all(oid in ex.books[0] for oid in ids[OTHER])


def test_a_mass_quote_that_would_cross_is_rejected_like_any_post_only_order(eng):
    ex, _ = _venue(eng)
    placed = ex.mass_quote(5, MAKER, 0, 1, [], [(100_020, 1), (99_995, 1)])
    assert list(placed) == [99_995]
    kinds = ex.log.kinds(len(ex.log) - 2)
    assert kinds == [eng.EventKind.ORDER_REJECTED, eng.EventKind.ORDER_ACCEPTED]
