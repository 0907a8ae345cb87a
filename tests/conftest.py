"""Project-wide test settings.

Hypothesis: under CI (the ``CI`` environment variable, set by .ci/run's caller) the
examples are derandomized -- the same examples every run, so ``main`` cannot turn red on a
new random draw; locally each run explores new examples (and saves failures in
``.hypothesis/``), which is where new bugs are found.
"""
from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
settings.register_profile("dev", print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "dev")
