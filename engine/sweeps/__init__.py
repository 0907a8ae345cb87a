"""Grids of runs: ``liqsim sweep`` (``grid`` reads and validates the grid file into tasks,
``execute`` runs one replay per task on a ``concurrent.futures`` executor -- a local
process pool or a Dask cluster's -- and keeps the results table) and ``liqsim bench``
(``bench``: the throughput measurements, each a ratio measured in the same run).

Above the runner: it may import ``engine.runner`` (one replay), ``engine.scenarios`` and
``engine.breakers`` (validation), ``engine.outputs`` (saving, the report) and
``engine.config``; never the loop itself.
"""
