"""docs/troubleshooting.md against what the terminal does: a provisioned state with no tariff does not
stop the start -- the terminal runs, reports and keeps the alarm, and refuses to meter -- so the
doc must list it where metering is refused, with the message the journal shows."""

import re
import shutil
from pathlib import Path

import pytest

from sim.provision import provision_state
from terminal.app.runtime import StartError, installed_schedule

DOC = Path(__file__).resolve().parents[2] / "docs" / "troubleshooting.md"


def section(title: str) -> str:
    text = DOC.read_text(encoding="utf-8")
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match, title
    return match.group(1)


def test_no_tariff_installed_is_listed_where_metering_is_refused_with_the_journals_words(tmp_path):
    state = provision_state(tmp_path / "state")
    shutil.rmtree(state.tariffs)
    state.tariffs.mkdir()
    with pytest.raises(StartError) as refused:
        installed_schedule(state)
    journal = f"installed tariff rejected: {refused.value}"        # what runtime.py logs; the start goes on
    assert journal.startswith("installed tariff rejected: no tariff installed in ")
    assert "no tariff installed" not in section("The service does not start")
    assert "`installed tariff rejected: no tariff installed in …/tariffs" in section("Metering refused")
