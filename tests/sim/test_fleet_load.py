"""The fleet load generator's own MQTT client against the real Mosquitto: credentials, QoS 1, shared subscriptions."""

import asyncio
import json
import ssl

import pytest

from sim.broker import Broker
from sim.fleet_load import SimTerminal, run_load
from sim.mini_mqtt import Client, MqttError, split_packets, varint
from terminal.link import schemas


def test_remaining_length_round_trips_at_every_width():
    for n in (0, 127, 128, 16_383, 16_384, 2_097_151, 2_097_152, 268_435_455):
        buf = bytearray(b"\x30" + varint(n) + bytes(n if n < 20_000 else 0))
        if n < 20_000:
            assert split_packets(buf) == [(3, 0, bytes(n))] and not buf
        else:
            assert split_packets(buf) == [] and len(buf) == 1 + len(varint(n))  # waits for the rest


@pytest.mark.parametrize("version", [5, 4])
def test_terminal_reports_reach_a_shared_subscription_with_pubacks_and_schema_valid_payloads(version):
    async def scenario(broker):
        got = []
        platform = await Client("platform-0", version=5, username="platform", password="p",
                                on_message=lambda topic, payload: got.append((topic, payload))).open(broker.host,
                                                                                                    broker.port)
        await platform.subscribe("$share/platform/taxi/+/up/#", qos=1)
        terminal = SimTerminal("F00007", route_seed=7, window=2)
        terminal.client = await Client("F00007", version=version, username="F00007", password="pw",
                                       on_puback=terminal.puback).open(broker.host, broker.port)
        for i in range(5):  # more than the window: the rest waits for PUBACKs, in order
            terminal.report(1_764_460_000_000 + i * 1000)
        for _ in range(200):
            if len(got) == 5 and terminal.pending() == 0:
                break
            await asyncio.sleep(0.02)
        terminal.client.close()
        platform.close()
        return got, terminal

    with Broker(users={"F00007": "pw", "platform": "p"}) as broker:
        got, terminal = asyncio.run(scenario(broker))
    assert terminal.acked == 5 and terminal.pending() == 0
    assert [t for t, _ in got] == ["taxi/F00007/up/location"] * 5
    bodies = [json.loads(p) for _, p in got]
    assert [b["seq"] for b in bodies] == [1, 2, 3, 4, 5]
    for body in bodies:
        assert schemas.errors("up_location", body) == []


def test_wrong_credentials_are_refused_by_the_broker():
    async def attempt(broker):
        await Client("F00001", username="F00001", password="wrong").open(broker.host, broker.port)

    with Broker(users={"F00001": "right"}) as broker, pytest.raises(MqttError, match="refused"):
        asyncio.run(attempt(broker))


def test_a_small_fleet_with_credentials_delivers_every_report():
    with Broker(users={**{f"F{i:05d}": f"pw{i}" for i in range(20)}, "platform-0": "p0", "platform-1": "p1"}) as b:
        creds = {f"F{i:05d}": (f"F{i:05d}", f"pw{i}") for i in range(20)} | {
            "platform-0": ("platform-0", "p0"), "platform-1": ("platform-1", "p1")}
        report = run_load(20, 2.0, warmup_s=0.5, broker=b, credentials=creds.__getitem__, log=lambda *_: None)
    assert report["messages"] > 0 and report["pending_at_end"] == 0


def test_against_the_shipped_broker_each_terminal_reaches_the_platform_only_on_its_own_topics():
    async def scenario(broker):
        ctx = ssl.create_default_context(cafile=str(broker.ca_path))
        got = []
        platform = await Client("platform-0", username="platform-0", password=broker.credentials["platform-0"],
                                on_message=lambda topic, payload: got.append(topic)).open(broker.host, broker.port,
                                                                                         ssl=ctx)
        await platform.subscribe("$share/platform/taxi/+/up/#", qos=1)
        acks = []
        one = await Client("F00001", username="F00001", password=broker.credentials["F00001"],
                           on_puback=acks.append).open(broker.host, broker.port, ssl=ctx)
        one.publish("taxi/F00002/up/location", b'{"forged":true}')   # another terminal's topic: the ACL drops it
        one.publish("taxi/F00001/up/location", b'{"own":true}')
        for _ in range(200):
            if len(acks) == 2 and got:
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.2)
        one.close()
        platform.close()
        return got, acks

    with Broker(shipped=True, terminals=("F00001", "F00002"), platform=("platform-0",)) as broker:
        got, acks = asyncio.run(scenario(broker))
    assert got == ["taxi/F00001/up/location"] and len(acks) == 2
