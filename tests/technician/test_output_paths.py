"""An output path (or a number) an outsider gets wrong -- a folder that does not exist, a folder
itself, a length or port or timeout out of range: one line, exit status 2, nothing written and
nothing audited -- not a Python traceback."""

import json
from pathlib import Path

import pytest

from terminal.cli import main
from terminal.trust import keys

from .conftest import audit_records

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def bad_outputs(tmp_path):
    """A path inside a folder that does not exist, and a path that is a folder."""
    (tmp_path / "a-folder").mkdir()
    return [str(tmp_path / "missing" / "out.file"), str(tmp_path / "a-folder")]


def one_line_error(capsys, *words) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") == 1, err
    assert err.startswith("taxiterm: cannot write") and all(w in err for w in words), err
    return err


def leftovers(tmp_path) -> list[str]:
    return sorted(p.name for p in tmp_path.rglob("*.tmp"))


def test_export_to_a_bad_path_says_so_and_audits_nothing(state, tmp_path, bad_outputs, capsys):
    before = len(audit_records(state))
    for out in bad_outputs:
        assert main(["export", "--state", str(state.root), "--out", out]) == 2
        one_line_error(capsys, out)
    assert len(audit_records(state)) == before
    assert leftovers(tmp_path) == []
    good = tmp_path / "export.json"
    assert main(["export", "--state", str(state.root), "--out", str(good)]) == 0
    assert good.exists() and leftovers(tmp_path) == []


def test_record_export_to_a_bad_path_writes_neither_file(state, tmp_path, bad_outputs, capsys):
    good = tmp_path / "records.jsonl"
    for out in bad_outputs:
        assert main(["record", "export", "--state", str(state.root), "--out", out]) == 2
        one_line_error(capsys, out)
        assert main(["record", "export", "--state", str(state.root), "--out", str(good), "--gbt", out]) == 2
        one_line_error(capsys, out)
        assert not good.exists()        # the good one is not written either: the command did nothing
    assert leftovers(tmp_path) == []


def test_files_signed_by_vendor_and_authority_tools_to_a_bad_path(tmp_path, bad_outputs, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["keys", "gen", "dev/vendor"]) == 0
    assert main(["keys", "gen", "dev/authority"]) == 0
    capsys.readouterr()
    for out in bad_outputs:
        assert main(["identity", "--seal", "dev/vendor.key", "--out", out]) == 2
        one_line_error(capsys, "manifest", out)
        assert main(["provision", "authorise", "--key", "dev/authority.key", "--device-id", "TX-1", "--technician",
                     "T-1", "--actions", "set_k", "--hours", "1", "--out", out]) == 2
        one_line_error(capsys, "authorisation", out)
        assert main(["update", "build", str(tmp_path / "dev"), "--key", "dev/vendor.key", "--version", "0.1.0",
                     "--out", out]) == 2
        one_line_error(capsys, "bundle", out)
    assert leftovers(tmp_path) == []


def test_jt_encode_to_a_bad_path(tmp_path, bad_outputs, capsys):
    message = tmp_path / "heartbeat.json"
    message.write_text(json.dumps({"header": {"msg_id": 2, "phone": "013912345678", "msg_sn": 76}}))
    for out in bad_outputs:
        assert main(["jt", "encode", str(message), "--out", out]) == 2
        one_line_error(capsys, "frames", out)
    assert leftovers(tmp_path) == []


def test_tariff_sign_where_the_signature_cannot_be_written(tmp_path, capsys):
    tariff = tmp_path / "tariff.toml"
    tariff.write_bytes((ROOT / "sim/data/tariff-demo.toml").read_bytes())
    (tmp_path / "tariff.toml.sig").mkdir()         # something in the way of FILE.sig
    key = tmp_path / "authority"
    keys.write_private(Path(f"{key}.key"), keys.generate())
    assert main(["tariff", "sign", str(tariff), "--key", f"{key}.key"]) == 2
    one_line_error(capsys, "signature")


@pytest.mark.parametrize("length", ["0", "-5", "nan", "1e12"])
def test_emulate_gnss_with_a_route_length_out_of_range_says_the_range(length, tmp_path, capsys):
    out = tmp_path / "drive.nmea"
    assert main(["emulate", "gnss", "--route", "urban", "--length-m", length, "--write", str(out)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") == 1
    assert err.startswith(f"taxiterm: --length-m {float(length):g}: must be 1..1000000 m")
    assert not out.exists()


def test_emulate_gnss_written_to_a_bad_path(tmp_path, bad_outputs, capsys):
    for out in bad_outputs:
        assert main(["emulate", "gnss", "--route", "urban", "--length-m", "200", "--write", out]) == 2
        one_line_error(capsys, "NMEA", out)
    assert leftovers(tmp_path) == []


def test_sim_out_that_is_a_file_or_under_a_file_is_refused_before_the_shift(tmp_path, capsys, monkeypatch):
    import sim.commands.sim as sim_command

    def no_shift(*args, **kwargs):
        raise AssertionError("the shift ran")

    monkeypatch.setattr(sim_command, "run_scenario", no_shift)
    a_file = tmp_path / "notes.txt"
    a_file.write_text("x")
    for out, said in ((a_file, "is a file, not a folder"), (a_file / "run", "cannot make the --out folder")):
        assert main(["sim", "demo", "--virtual", "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert "Traceback" not in err and err.count("\n") == 1 and said in err and str(out) in err, err
    assert a_file.read_text() == "x"


@pytest.mark.parametrize("extra, said", [(["--tcp", "99999"], "--tcp 99999: must be 0..65535"),
                                         (["--tcp", "-1"], "--tcp -1: must be 0..65535")])
def test_emulate_printer_with_a_port_out_of_range(extra, said, tmp_path, capsys):
    assert main(["emulate", "printer", "--out", str(tmp_path / "receipts"), *extra]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.startswith(f"taxiterm: {said}")


def test_emulate_printer_whose_receipts_folder_cannot_be_made(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    assert main(["emulate", "printer", "--out", str(tmp_path / "file" / "receipts")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("taxiterm: cannot make the receipts folder") and err.count("\n") == 1


@pytest.mark.parametrize("timeout", ["-1", "0"])
def test_update_with_a_health_check_timeout_out_of_range_installs_nothing(timeout, state, tmp_path, capsys):
    before = len(audit_records(state))
    slots = tmp_path / "slots"
    assert main(["update", str(tmp_path / "update.tar.gz"), "--state", str(state.root), "--root", str(slots),
                 "--health-check", "true", "--timeout", timeout]) == 2
    assert capsys.readouterr().err == f"taxiterm: --timeout {timeout}: must be more than 0 seconds\n"
    assert len(audit_records(state)) == before and not slots.exists()


def test_keys_gen_under_a_file_names_the_file_in_the_way(tmp_path, capsys):
    (tmp_path / "dev").write_text("not a folder")
    assert main(["keys", "gen", str(tmp_path / "dev" / "vendor")]) == 2
    err = capsys.readouterr().err
    assert err == f"taxiterm: cannot write {tmp_path / 'dev' / 'vendor.key'}: {tmp_path / 'dev'} is a file, not a directory\n"


@pytest.mark.parametrize("prefix", ["", "dev/", "dev", "."])
def test_keys_gen_with_a_prefix_that_names_no_file(prefix, tmp_path, capsys, monkeypatch):
    """Before: '' wrote ..key and ..pub (hidden) in the working directory, 'dev/' wrote dev.key."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "dev").mkdir()
    assert main(["keys", "gen", prefix]) == 2
    assert capsys.readouterr().err.startswith(f"taxiterm: PREFIX {prefix!r} names no file")
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["dev"]
