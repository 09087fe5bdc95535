"""The self-test and a running terminal: one terminal per state directory, and a self-test that
would take the terminal's broker account and ports is refused instead of pushing the terminal off.

The shipped broker makes each client's username its client id (broker/mosquitto.conf), so a
self-test connecting with the terminal's credentials takes over the terminal's MQTT session,
whatever client id it asks for.
"""

import threading

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from terminal.cli import main
from terminal.storage.run_lock import RunLock
from tests.technician.test_selftest import FAST, Bench


def _terminal_session(broker, tid):
    """A client holding the terminal's own broker account, as `taxiterm run` does."""
    options = broker.link_config(tid)
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=tid, protocol=mqtt.MQTTv5)
    client.username_pw_set(options["username"], options["password"])
    client.tls_set(ca_certs=options["tls_ca"])
    up, down = threading.Event(), threading.Event()
    client.on_connect = lambda *a: up.set()
    client.on_disconnect = lambda *a: down.set()
    client.connect(options["host"], options["port"])
    client.loop_start()
    assert up.wait(5)
    return client, down


def _config_with_state(bench, tmp_path) -> str:
    state = tmp_path / "state"
    state.mkdir()
    path = bench.config()
    text = open(path).read().replace('[terminal]\nid = "T0042"', f'[terminal]\nid = "T0042"\nstate_dir = "{state}"')
    open(path, "w").write(text)
    return path, state


def test_selftest_beside_a_running_terminal_is_refused_and_leaves_its_session_alone(
        tmp_path, mosquitto_session, capsys):
    bench = Bench(tmp_path, mosquitto_session)
    config, state = _config_with_state(bench, tmp_path)
    lock = RunLock(state)
    lock.acquire()
    client, pushed_off = _terminal_session(mosquitto_session, "T0042")
    try:
        status = main(["selftest", "--board", "sim", "--config", config, *FAST])
        err = capsys.readouterr().err
        assert status == 2
        assert "terminal is running" in err and "stop it first" in err
        assert not pushed_off.wait(1.0), "the self-test pushed the running terminal off the broker"
    finally:
        client.loop_stop()
        client.disconnect()
        lock.release()
        bench.close()


def test_selftest_runs_once_the_terminal_has_stopped(tmp_path, mosquitto_session, capsys):
    bench = Bench(tmp_path, mosquitto_session)
    config, state = _config_with_state(bench, tmp_path)
    lock = RunLock(state)
    lock.acquire()
    lock.release()
    try:
        assert main(["selftest", "--board", "sim", "--config", config, *FAST, "--skip", "printer"]) == 0
    finally:
        bench.close()


def test_a_second_terminal_on_the_same_state_directory_is_refused(tmp_path, capsys):
    state = tmp_path / "state"
    state.mkdir()
    config = tmp_path / "terminal.toml"
    config.write_text(f'[terminal]\nid = "T0042"\nstate_dir = "{state}"\n')
    lock = RunLock(state)
    lock.acquire()
    try:
        assert main(["run", "--board", "sim", "--config", str(config)]) == 2
        err = capsys.readouterr().err
        assert f"a terminal is running on {state}" in err and "stop it first" in err
    finally:
        lock.release()


def test_the_lock_names_the_running_process_and_goes_with_it(tmp_path):
    lock = RunLock(tmp_path)
    assert RunLock(tmp_path).holder() is None
    lock.acquire()
    import os
    assert RunLock(tmp_path).holder() == os.getpid()
    lock.release()
    assert RunLock(tmp_path).holder() is None
