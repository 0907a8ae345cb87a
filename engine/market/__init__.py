"""What the venue does not control: market makers (``makers``) and the leveraged population
(``traders``).

Participants act only through the port the loop hands them (``engine.phases.Port``) and the
Exchange's public calls; they import ``engine.venue``, ``engine.phases`` and ``engine.config``.
"""
