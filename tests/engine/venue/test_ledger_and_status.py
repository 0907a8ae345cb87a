"""The Exchange's one door to the ledger (``move``, ``move_collateral``, ``write_off``,
``deposit`` into a position) and the venue's one status (``halt``/``reopen``, ``go_down``/
``come_back``).  Money is checked with ``check_conservation`` (``==``) after every step.

Units: the test instrument of ``tests/engine/conftest.py`` (one tick x one lot = one quantum,
``Q`` quantums per quote unit, mark 100,000 ticks).
"""
from __future__ import annotations

import pytest

from engine.venue.events import EventKind as K

MAKER, TRADER = 900, 901


def _ex(eng, **kw):
    ex = eng.exchange(**kw)
    for acct in (MAKER, TRADER):
        ex.open_account(0, acct, deposit=10**6 * eng.Q)
    return ex


def _isolated(eng):
    """An exchange with account 7 long 10 lots isolated, 2,000 quote units of margin."""
    ex = _ex(eng)
    ex.open_account(0, 7, deposit=10_000 * eng.Q)
    ex.transfer_position(0, 7, MAKER, 0, 10, 100_000, isolated_margin=(2_000 * eng.Q, 0))
    return ex, ex.accounts[7]


def test_a_move_changes_two_balances_by_the_same_amount_and_conserves_money(eng):
    ex = _ex(eng)
    a, b = ex.accounts[MAKER], ex.accounts[TRADER]
    before = a.wallet, b.wallet
    ex.move(1, a, b, 123, kind=K.INSURANCE_PAID, about=TRADER)
    assert (a.wallet, b.wallet) == (before[0] - 123, before[1] + 123)
    ex.check_conservation()
    row = ex.log.rows(K.INSURANCE_PAID)[-1]
    assert (row[5], row[11]) == (TRADER, 123)


def test_a_move_without_a_kind_logs_nothing_and_both_accounts_are_re_keyed(eng):
    ex = _ex(eng)
    ex.refresh_index()
    n = len(ex.log)
    ex.move(1, ex.accounts[MAKER], ex.fund, 5)
    assert len(ex.log) == n
    assert {MAKER, ex.fund.id} <= ex.index.dirty
    ex.check_conservation()


def test_a_move_from_an_isolated_position_takes_its_margin_not_the_wallet(eng):
    ex, acct = _isolated(eng)
    wallet, margin = acct.wallet, acct.positions[0].margin
    ex.move(2, acct, ex.fund, 50, inst=0, from_position=True)
    assert acct.wallet == wallet and acct.positions[0].margin == margin - 50
    ex.check_conservation()


def test_write_off_makes_the_wallet_whole_and_books_the_bad_debt(eng):
    ex = _ex(eng)
    acct = ex.accounts[TRADER]
    ex.move(1, acct, ex.fund, acct.wallet + 40)     # the trader is 40 quantums short
    assert acct.wallet == -40
    ex.write_off(2, acct, 0, 40)
    assert acct.wallet == 0 and ex.bad_debt == 40
    assert ex.log.rows(K.BAD_DEBT)[-1][11] == 40
    ex.check_conservation()


def test_collateral_moves_whole_and_the_source_keeps_none(eng):
    ex = _ex(eng, collateral=[eng.CollateralAsset("USDE", source="fixed", fixed_price="1")])
    ex.open_account(0, 8, collateral={"USDE": 500})
    assert ex.move_collateral(ex.accounts[8], ex.fund, "USDE") == 500
    assert ex.accounts[8].collateral["USDE"] == 0 and ex.fund.collateral["USDE"] == 500
    assert ex.move_collateral(ex.accounts[8], ex.fund, "USDE") == 0


def test_a_deposit_into_an_isolated_position_raises_its_margin_and_not_the_wallet(eng):
    ex, acct = _isolated(eng)
    wallet, margin = acct.wallet, acct.positions[0].margin
    ex.deposit(3, 7, 300, inst=0)
    assert acct.wallet == wallet and acct.positions[0].margin == margin + 300
    ex.deposit(4, MAKER, 300, inst=0)           # cross: into the wallet
    ex.check_conservation()


def test_every_book_halts_and_reopens_together_and_halted_is_their_one_status(eng):
    ex = _ex(eng, n_inst=2, marks=(eng.MARK, eng.MARK))
    assert not ex.halted
    ex.halt(5, 99)
    assert ex.halted and all(book.halted for book in ex.books) and ex.halts == 1
    ex.halt(6, 99)                               # already halted: nothing more
    assert ex.halts == 1 and len(ex.log.rows(K.TRADING_HALTED)) == 2    # one per instrument
    ex.reopen(7, None, 99)
    assert not ex.halted and not any(book.halted for book in ex.books)
    assert [r[4] for r in ex.log.rows(K.TRADING_RESUMED)] == [0, 1]


def test_a_reopening_executes_the_crossed_orders_of_the_halt_at_the_uncross_price(eng):
    ex = _ex(eng)
    ex.halt(1, 99)
    ex.submit(2, MAKER, 0, -1, 5, price=99_000)
    ex.submit(3, TRADER, 0, 1, 5, price=101_000)
    assert not ex.log.rows(K.TRADE)
    result = ex.reopen(4, 100_000, 99)
    assert result.volume == 5 and [r[10] for r in ex.log.rows(K.TRADE)] == [5]
    ex.check_conservation()


@pytest.mark.parametrize("down", [True, False])
def test_a_down_venue_refuses_orders_until_it_comes_back(eng, down):
    ex = _ex(eng)
    if down:
        ex.go_down(1)
    r = ex.submit(2, TRADER, 0, 1, 1, price=99_000)
    assert (r is None) == down
    ex.come_back(3)
    assert ex.submit(4, TRADER, 0, 1, 1, price=98_000)
    kinds = ex.log.kinds()
    assert (K.VENUE_WENT_DOWN in kinds) == down and K.VENUE_CAME_BACK in kinds


def test_next_order_id_names_the_id_the_next_submit_gets(eng):
    ex = _ex(eng)
    oid = ex.next_order_id()
    assert ex.next_order_id() == oid                     # nothing consumed
    r = ex.submit(1, TRADER, 0, 1, 1, price=99_000)
    assert r.order_id == oid and ex.next_order_id() == oid + 1


@pytest.mark.parametrize("inverse", [False, True])
def test_seeding_positions_leaves_the_state_of_opening_accounts_and_transferring_each_position(
        eng, inverse):
    """``seed_positions`` (one loop, the calls written out) ends with the same accounts,
    positions, open interest, holders and deposits as ``open_account`` then
    ``transfer_position`` row by row -- the counterparty's leg realising PnL as it crosses
    zero, isolated and cross rows, a row without a position -- and conserves money."""
    import numpy as np

    from engine.venue.exchange import Exchange
    from engine.venue.instruments import bitmex_xbtusd
    rng = np.random.default_rng(5)
    rows = [(100 + k, int(d) * eng.Q, int(s), int(p), int(d) * eng.Q // 3 if iso else 0)
            for k, (d, s, p, iso) in enumerate(zip(rng.integers(1, 900, 300),
                                                   rng.integers(-30, 31, 300),
                                                   rng.integers(9_000, 21_000, 300),
                                                   rng.random(300) < 0.4))]

    def venue():
        ex = Exchange([bitmex_xbtusd()], insurance_fund=10**9) if inverse else _ex(eng)
        if inverse:
            ex.open_account(0, MAKER, deposit=10**12)
        return ex
    seeded, stepped = venue(), venue()
    seeded.seed_positions(0, 0, MAKER, rows)
    for account_id, deposit, size, price, iso in rows:
        stepped.open_account(0, account_id, deposit)
        if size:
            buyer, seller = (account_id, MAKER) if size > 0 else (MAKER, account_id)
            stepped.transfer_position(0, buyer, seller, 0, abs(size), price,
                                      isolated_margin=(iso, 0) if size > 0 else (0, iso))
    assert any(not r[2] for r in rows) and any(r[4] for r in rows)
    for ex in (seeded, stepped):
        ex.check_conservation()
    assert seeded.accounts.keys() == stepped.accounts.keys()
    for a, acct in seeded.accounts.items():
        other = stepped.accounts[a]
        assert (acct.wallet, acct.positions) == (other.wallet, other.positions), a
    assert seeded.open_interest == stepped.open_interest
    assert seeded.holders == stepped.holders and seeded.net_deposits == stepped.net_deposits
    assert seeded.index.dirty == stepped.index.dirty
