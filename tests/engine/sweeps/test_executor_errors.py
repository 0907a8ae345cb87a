"""``executor``'s one-line errors name what the user gave: the flag or the environment."""
from __future__ import annotations

import sys

import pytest

from engine.config import ConfigError
from engine.sweeps.execute import executor


@pytest.mark.parametrize("scheduler,named", [(None, "DASK_SCHEDULER_ADDRESS: needs dask"),
                                             ("tcp://127.0.0.1:1", "--scheduler: needs dask")])
def test_a_missing_dask_names_the_environment_variable_when_no_scheduler_flag_was_given(
        monkeypatch, scheduler, named):
    """With DASK_SCHEDULER_ADDRESS set and dask absent, "--scheduler: needs dask.distributed"
    named a flag the user never passed."""
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", "tcp://127.0.0.1:1")
    monkeypatch.setitem(sys.modules, "distributed", None)        # import fails
    with pytest.raises(ConfigError) as caught:
        with executor(scheduler=scheduler):
            pass
    assert str(caught.value).startswith(named), str(caught.value)


@pytest.mark.parametrize("scheduler,named", [(None, "DASK_SCHEDULER_ADDRESS tcp://"),
                                             ("tcp://127.0.0.1:1", "--scheduler tcp://")])
def test_a_scheduler_that_cannot_be_reached_names_where_its_address_came_from(
        monkeypatch, scheduler, named):
    import types

    def refuse(address, timeout):
        raise OSError("connection refused")
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", "tcp://127.0.0.1:1")
    monkeypatch.setitem(sys.modules, "distributed", types.SimpleNamespace(Client=refuse))
    with pytest.raises(ConfigError) as caught:
        with executor(scheduler=scheduler):
            pass
    assert str(caught.value).startswith(named) and "cannot connect" in str(caught.value)
