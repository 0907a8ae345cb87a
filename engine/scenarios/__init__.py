"""Scenario files: the TOML schema as frozen attrs classes, validation with one error line
naming the file and the field, ``--set`` overrides and ``--scale``.

It imports ``engine.config``, ``engine.venue`` (instrument and liquidation names) and
``engine.breakers`` (to validate and scale their ``[breaker.NAME]`` tables).
"""
