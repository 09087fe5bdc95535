"""A configuration an outsider gets wrong stops `taxiterm run` with one line naming the key, as
docs/config.md promises -- on a fresh terminal too, whose meter is built from the configuration."""

import pytest

from sim.provision import provision_state
from terminal.app import config as config_mod
from terminal.cli import main


# `taxiterm run` in-process points the root logger at this test's captured stderr (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("keep_the_root_logger")


@pytest.mark.parametrize("table, said", [
    ("k = 0", "meter.k must be from 100 to 100000 pulses/km, got 0"),
    ("k = 999999", "meter.k must be from 100 to 100000 pulses/km, got 999999"),
    ('source = "radar"', "meter.source must be pulses or gnss, got 'radar'"),
    ("dip_ms = -1", "meter.dip_ms must be from 0 to 3600000, got -1"),
    ("max_kmh = 0", "meter.max_kmh must be from 1 to 1000, got 0"),
    ("speed_window_ms = 10", "meter.speed_window_ms must be from 1000 to 60000, got 10"),
    ("speed_window_pulses = 0", "meter.speed_window_pulses must be from 1 to 1000, got 0"),
])
def test_a_meter_value_out_of_range_is_named_before_the_fresh_terminal_builds_its_meter(table, said, tmp_path,
                                                                                        capsys, monkeypatch):
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "run"))
    provision_state(tmp_path / "state")
    config = tmp_path / "terminal.toml"
    config.write_text(f'[terminal]\nstate_dir = "{tmp_path / "state"}"\n[meter]\n{table}\n')
    with pytest.raises(config_mod.ConfigError, match=said):
        config_mod.load(config)
    assert main(["run", "--board", "sim", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.strip().splitlines()[-1] == f"taxiterm: {said}"


@pytest.mark.parametrize("table, said", [
    ("[mqtt]\nport = 99999", "mqtt.port must be 1..65535, got 99999"),
    ('[mqtt]\nusername = "T0001"', "mqtt.username and mqtt.password go together"),
    ('[downlink]\nplatform_key = "/nonexistent/platform.pub"', "cannot read public key /nonexistent/platform.pub"),
    ('[board]\nserial = {sign = "nosuchscheme://taxiterm-sign"}', "rooftop sign: cannot open nosuchscheme://taxiterm-sign"),
    ('[board]\npulse_counter = "/nonexistent/pulses"', "kernel pulse counter /nonexistent/pulses"),
])
def test_what_only_the_start_can_try_is_one_line_and_the_process_ends(table, said, tmp_path):
    """The [mqtt] table, the platform key file, a device port: a traceback in the journal before."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    provision_state(tmp_path / "state")
    config = tmp_path / "terminal.toml"
    config.write_text(f'[terminal]\nstate_dir = "{tmp_path / "state"}"\n{table}\n')
    env = dict(os.environ, XDG_RUNTIME_DIR=str(tmp_path / "run"), PYTHONPATH=str(root))
    done = subprocess.run([sys.executable, "-m", "terminal", "run", "--board", "sim", "--config", str(config)],
                          cwd=root, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith(f"taxiterm: cannot start: {said}")


@pytest.mark.parametrize("value", ['"bad id/+"', '""', '"' + "T" * 65 + '"', '"出租车"'])
def test_a_bad_terminal_id_is_named_as_the_key_the_technician_wrote(value, tmp_path):
    """Before: 'mqtt.terminal_id must be ...' at start, a key the technician never wrote (and with
    links.use = ["jt808"] the id was not checked at all)."""
    config = tmp_path / "terminal.toml"
    for links in ('["mqtt"]', '["jt808"]'):
        config.write_text(f"[terminal]\nid = {value}\n[links]\nuse = {links}\n")
        with pytest.raises(config_mod.ConfigError, match=r"^terminal\.id must be 1-64 of A-Z a-z 0-9 _ \. -"):
            config_mod.load(config)
