"""One real local Dask cluster per test session (two worker processes, no dashboard), for
the sweep tests that run through a scheduler address; closed at the end of the session."""
from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def dask_scheduler():
    from distributed import LocalCluster
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster:
        yield cluster.scheduler_address
