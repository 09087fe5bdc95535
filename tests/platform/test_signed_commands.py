"""Issue 11 item 2: the signed bytes of a downlink command, the worked example of docs/mqtt.md, the CLI."""

import json
import subprocess
import sys
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from terminal.link import downlink as ci
from terminal.trust import keys

ROOT = Path(__file__).resolve().parents[2]
# RFC 8032 section 7.1, TEST 1: a key anyone can check an Ed25519 library against
SEED = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
TOPIC = "taxi/T0001/down/alarm_release"
COMMAND = {"cmd_id": "c-1001", "ts": 1795000000000, "alarm_id": "1795000002950", "reason": "电话核实，误报"}
SIGNED_HEX = (
    "746178697465726d2d636f6d6d616e642d76310a746178692f54303030312f646f776e2f616c61726d5f72656c656173650a"
    "7b22616c61726d5f6964223a2231373935303030303032393530222c22636d645f6964223a22632d31303031222c2272656173"
    "6f6e223a22e794b5e8af9de6a0b8e5ae9eefbc8ce8afafe68aa5222c227473223a313739353030303030303030307d")
SIG = ("65971d2a2b36918cc61e3ea263151c662626d08ee2c89d07c1b800074a7a87f4"
       "a62db355952e7d46ea024cbf06db34a01c63e9506aa16965d93f769c356b1d0e")


def test_the_worked_example_of_the_documentation():
    key = Ed25519PrivateKey.from_private_bytes(SEED)
    assert ci.signed_bytes(TOPIC, COMMAND).hex() == SIGNED_HEX
    assert ci.sign(TOPIC, COMMAND, key)["sig"] == SIG
    doc = (ROOT / "docs" / "mqtt.md").read_text(encoding="utf-8")
    assert SIG in doc and SIGNED_HEX[:64] in doc
    message = json.dumps({**COMMAND, "sig": SIG}, ensure_ascii=False).encode()
    cmd = ci.parse(TOPIC, message, prefix="taxi", terminal_id="T0001", platform_key=key.public_key(),
                   now_ms=1795000000000 + 1000, window_ms=300_000)
    assert isinstance(cmd, ci.Command) and cmd.body["alarm_id"] == "1795000002950"


def test_escaped_input_verifies_the_same_as_plain_utf8():
    key = Ed25519PrivateKey.from_private_bytes(SEED)
    escaped = json.dumps({**COMMAND, "sig": SIG}, ensure_ascii=True).encode()      # "\\u7535..." on the wire
    assert isinstance(ci.parse(TOPIC, escaped, prefix="taxi", terminal_id="T0001",
                               platform_key=key.public_key()), ci.Command)


def test_lone_surrogates_and_floats_are_refused_not_raised():
    key = Ed25519PrivateKey.from_private_bytes(SEED)
    for raw in (b'{"cmd_id":"x","reason":"\\ud800","sig":"' + b"0" * 128 + b'"}',
                b'{"cmd_id":"x","ts":1.0e3}', b'{"cmd_id":"x","ts":NaN}', b'{"cmd_id":"x","ts":-Infinity}'):
        result = ci.parse(TOPIC, raw, prefix="taxi", terminal_id="T0001", platform_key=key.public_key())
        assert isinstance(result, ci.Refusal) and result.ack["result"] in (2, 4)


def run(*args, cwd):
    return subprocess.run([sys.executable, "-m", "terminal", *args], cwd=cwd, capture_output=True, text=True)


def test_taxiterm_signs_a_command_a_terminal_accepts(tmp_path):
    key = Ed25519PrivateKey.from_private_bytes(SEED)
    keys.write_private(tmp_path / "platform.key", key)
    out = run("platform", "sign-command", "--key", str(tmp_path / "platform.key"), "--terminal", "T0001",
              "--cmd-id", "c-1001", "--ts", "1795000000000", "--explain", "alarm_release",
              json.dumps({"alarm_id": "1795000002950", "reason": "电话核实，误报"}, ensure_ascii=False), cwd=ROOT)
    assert out.returncode == 0, out.stderr
    topic, payload = out.stdout.splitlines()
    assert topic == TOPIC and json.loads(payload)["sig"] == SIG
    assert SIGNED_HEX in out.stderr
    bad = run("platform", "sign-command", "--key", str(tmp_path / "platform.key"), "--terminal", "T0001",
              "--cmd-id", "c", "params", '{"params": {"k": 1}}', cwd=ROOT)
    assert bad.returncode == 2 and "would refuse" in bad.stderr


def test_taxiterm_makes_broker_credentials(tmp_path):
    out = run("broker", "init", str(tmp_path / "b"), "--host", "broker.example", "--ip", "127.0.0.1", cwd=ROOT)
    assert out.returncode == 0, out.stderr
    out = run("broker", "add-terminal", str(tmp_path / "b"), "T0001", cwd=ROOT)
    assert out.returncode == 0 and 'username = "T0001"' in out.stdout
    assert (tmp_path / "b" / "passwords").read_text().startswith("T0001:$7$")
    assert "pattern read taxi/%u/down/#" in (tmp_path / "b" / "acl").read_text()
    assert run("broker", "add-terminal", str(tmp_path / "b"), "T0001", cwd=ROOT).returncode == 2
