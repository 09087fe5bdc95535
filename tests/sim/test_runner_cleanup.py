"""A shift whose fitting fails half way leaves nothing running: no broker, no platform client."""

import pytest

import sim.installation
from bench.bench_sim import twelve_hour_shift
from sim.runner import ShiftRunner
from sim.scenario import parse


def test_a_failed_fitting_takes_the_broker_down_again(tmp_path, monkeypatch):
    def broken_terminal(*args, **kw):
        raise RuntimeError("the terminal would not start")

    monkeypatch.setattr(sim.installation, "Terminal", broken_terminal)
    runner = ShiftRunner(parse(twelve_hour_shift()), tmp_path / "out", render=False)
    with pytest.raises(RuntimeError, match="would not start"):
        runner.run()
    assert runner.car.broker is not None and not runner.car.broker.running
