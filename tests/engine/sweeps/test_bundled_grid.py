"""The bundled grid ``replays/grids/catalogue.toml``: every catalogue event x every breaker
policy x three seeds (issue 17's "done when" sweep), kept in step with the catalogue."""
from engine.breakers import POLICIES
from engine.scenarios.scenario import REPLAYS, bundled_names, load
from engine.sweeps import grid

CATALOGUE_GRID = REPLAYS / "grids" / "catalogue.toml"


def test_catalogue_grid_covers_every_bundled_event_and_every_policy():
    tasks = grid.read(CATALOGUE_GRID).tasks
    events = {n for n in bundled_names() if not load(n).meta.toy}
    assert {t.scenario for t in tasks} == events
    assert {t.breaker for t in tasks} == set(POLICIES)
    assert {t.seed for t in tasks} == {0, 1, 2}
    assert len(tasks) == len(events) * len(POLICIES) * 3
