"""What a run leaves behind: the time series and the summary (``metrics``), the result and
its files (``results``, written all or nothing by ``atomic``), charts (``charts``).

Computed from the event log and the sampled series, never from the loop's state: it imports
only ``engine.venue`` (the log's dtype, instruments) and itself.
"""
