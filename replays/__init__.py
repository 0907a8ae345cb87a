"""The catalogue of events to replay: scenario files (TOML) and small recorded-data samples.

A package only so that the files install with the code."""
