"""`taxiterm broker` as a platform operator uses it: the [mqtt] section it prints must take a terminal
to the broker that was configured, and a port out of range or a bad folder is one line."""

import pytest

from terminal.app import config as config_mod
from terminal.cli import main


def printed_mqtt(capsys) -> str:
    out = capsys.readouterr().out
    section = out[out.index("[mqtt]"):]
    return section


def test_the_printed_mqtt_section_names_the_brokers_port_prefix_and_host(tmp_path, capsys):
    broker = tmp_path / "broker"
    assert main(["broker", "init", str(broker), "--host", "broker.example.com", "--ip", "203.0.113.5",
                 "--port", "8884", "--prefix", "fleet/hz"]) == 0
    capsys.readouterr()
    assert main(["broker", "add-terminal", str(broker), "T0001"]) == 0
    config = tmp_path / "terminal.toml"
    config.write_text(printed_mqtt(capsys).replace("/etc/taxiterm/broker-ca.pem", str(broker / "ca.pem")))
    mqtt = config_mod.load(config)["mqtt"]
    assert (mqtt["host"], mqtt["port"], mqtt["prefix"], mqtt["username"]) == \
        ("broker.example.com", 8884, "fleet/hz", "T0001")


@pytest.mark.parametrize("port", ["0", "99999", "-1"])
def test_a_port_out_of_range_is_refused_and_writes_nothing(port, tmp_path, capsys):
    broker = tmp_path / "broker"
    assert main(["broker", "init", str(broker), "--host", "h", "--port", port]) == 2
    err = capsys.readouterr().err
    assert err == f"taxiterm: --port {port}: must be 1..65535\n"
    assert not broker.exists()


def test_a_broker_folder_under_a_file_is_one_line(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    assert main(["broker", "init", str(tmp_path / "file" / "broker"), "--host", "h"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.startswith("taxiterm: cannot write the broker configuration in")
