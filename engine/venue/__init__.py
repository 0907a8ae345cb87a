"""The venue: the exchange around the books -- instruments (tick, lot, tiers, fees), accounts
and their ids, order entry, fills and fees, the ledger, margin reads and the liquidation index,
mark-price policies, collateral, the venue's halted/down status, reason codes and the event log.

It has no clock, no participants and no policies: it imports only ``orderbook`` and itself.
"""
