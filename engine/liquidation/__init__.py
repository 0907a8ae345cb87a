"""What happens to a deficient position: the waterfall styles (``waterfalls``), settlement of
what a closed-out unit leaves (takeover, cover, bad debt: ``settlement``), ADL rankings and
execution (``adl``) and the insurance fund's offload of what it took over (``offload``).

It imports only ``engine.venue`` (and ``orderbook`` enums): liquidation returns orders
through the Exchange and knows nothing of the loop or the breakers.
"""
