"""Session 30's user probe of the checker's commands (docs/model-checking.md, "User
probe of the checker (session 30)"): each input a new user fed that crashed with a
traceback, or was accepted silently, now gets a clear error and its exit status.

Every run is tiny (two nodes, N=2, R=W=1, a 2-step counterexample) and cheap.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from model_check.refinement_state import LockstepState
from vdynamo.cli import main

TINY = """name = "tiny"
[cluster]
nodes = ["n1", "n2"]
n = 2
r = 1
w = 1
"""


def _trace(tmp_path: Path) -> Path:
    """A 2-step read_your_writes counterexample of ``TINY``, as `vdynamo check` writes it."""
    config = tmp_path / "tiny.toml"
    config.write_text(TINY)
    assert main(["check", str(config), "--property", "read_your_writes", "--quiet",
                 "--trace-dir", str(tmp_path)]) == 1
    return tmp_path / "tiny.read_your_writes.json"


def _tampered(tmp_path: Path, **changes: object) -> Path:
    data = json.loads(_trace(tmp_path).read_text())
    data.update(changes)
    path = tmp_path / "tampered.json"
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize("command", ["check", "show"])
def test_a_config_that_is_not_utf8_is_refused_with_exit_2(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes(b'name = "caf\xe9"\n')  # Latin-1, not UTF-8: was a UnicodeDecodeError
    assert main([command, str(path)]) == 2
    err = capsys.readouterr().err
    assert "latin1.toml" in err and "not UTF-8" in err and "0xe9" in err


@pytest.mark.parametrize("on", ["spec", "impl"])
def test_a_trace_that_is_not_utf8_is_refused_with_exit_2(
    on: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "binary.json"
    path.write_bytes(b"\xff\xfe{}")
    assert main(["replay", str(path), "--on", on]) == 2
    assert "binary.json is not UTF-8" in capsys.readouterr().err


@pytest.mark.parametrize(("field", "value", "named"), [
    ("node", "n9", "node 'n9'"), ("client", "c9", "client 'c9'"), ("key", "zz", "key 'zz'")])
def test_an_impl_replay_of_a_step_naming_an_unknown_member_is_refused(
    field: str, value: str, named: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = json.loads(_trace(tmp_path).read_text())
    data["actions"][1][field] = value  # was a SimulationError traceback (node) or
    path = tmp_path / "tampered.json"  # "tuple.index(x): x not in tuple" (client)
    path.write_text(json.dumps(data))
    capsys.readouterr()
    assert main(["replay", str(path), "--on", "impl"]) == 1
    out = capsys.readouterr().out
    assert "REFUSED at step 2" in out and f"names {named}, which the trace's configuration" in out


@pytest.mark.parametrize("timeout", ["nan", "inf", "-1", "0", "0.0001", "soon", "1e308", "86401"])
def test_prove_refuses_a_timeout_that_is_not_a_positive_finite_number(
    timeout: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # nan and inf were tracebacks (converting to Z3's milliseconds); 0 and -1 were taken
    # (Z3 reads 0 as no timeout at all); 1e308 an OverflowError traceback until session
    # 56's red team (mutant: the MAX_TIMEOUT_S bound dropped: 1e308 fails OverflowError,
    # 86401 DID NOT RAISE)
    with pytest.raises(SystemExit) as stop:
        main(["prove", "vclock_descends_reflexive", "--no-agreement", "--timeout", timeout])
    assert stop.value.code == 2
    assert "argument --timeout: expected a" in capsys.readouterr().err


@pytest.mark.parametrize("on", ["spec", "impl"])
def test_a_trace_whose_kind_is_not_its_propertys_is_refused(
    on: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # was told as "read_your_writes is reached (step 2)", exit 0
    path = _tampered(tmp_path, kind="sometimes")
    capsys.readouterr()
    assert main(["replay", str(path), "--on", on]) == 1
    assert ("the trace calls it a sometimes-property, but it is an always-property"
            in capsys.readouterr().out)


@pytest.mark.parametrize("on", ["spec", "impl"])
def test_a_trace_whose_violated_at_is_not_where_it_breaks_is_refused(
    on: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the docs promise exit 0 only when "the property broke where recorded"; the
    # recorded step was not compared, so a wrong violated_at replayed with exit 0
    path = _tampered(tmp_path, violated_at=1)
    capsys.readouterr()
    assert main(["replay", str(path), "--on", on]) == 1
    assert ("did not break as recorded: the trace records it broken at step 1 "
            "(violated_at), but it first fails at step 2" in capsys.readouterr().out)
    assert main(["replay", str(_trace(tmp_path)), "--on", on]) == 0  # the true one replays


def test_an_impl_replay_of_a_step_the_lockstep_cannot_take_is_not_called_a_divergence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # the spec's coordinator gives up on a crashed target while its put is in flight.
    # Until session 45 the lockstep could not take that step (docs/refinement.md,
    # "unmapped"), and the refusal said "the implementation diverges from the spec", a
    # bug it is not. Session 45 mapped it (LockstepState.put_kept_timeout): the trace
    # now replays to its witness on the implementation too; with the mapping switched
    # off (as tests/refinement/test_conformance_paths.py does) the step is a known gap
    # again, and the CLI must say so, not call it a divergence.
    config = tmp_path / "sloppy.toml"
    config.write_text(TINY.replace('nodes = ["n1", "n2"]', 'nodes = ["n1", "n2", "n3"]')
                      .replace("w = 1", "w = 2").replace("r = 1", "r = 1\nsloppy_quorum = true")
                      + "[faults]\ncrashes = 1\n")
    assert main(["check", str(config), "--property", "coordinator_times_out", "--quiet",
                 "--trace-dir", str(tmp_path)]) == 0
    trace = tmp_path / "tiny.coordinator_times_out.json"
    capsys.readouterr()
    assert main(["replay", str(trace), "--on", "spec"]) == 0
    assert main(["replay", str(trace), "--on", "impl"]) == 0
    out = capsys.readouterr().out
    assert "diverges" not in out and "known gap" not in out, out
    monkeypatch.setattr(LockstepState, "put_kept_timeout", lambda self, *args: None)
    assert main(["replay", str(trace), "--on", "impl"]) == 1
    out = capsys.readouterr().out
    assert "a known gap, not a divergence" in out and "diverges" not in out


@pytest.mark.parametrize(("flags", "error"), [
    (["--seed", "3"], "--seed applies only with --simulate N"),
    (["--max-steps", "5"], "--max-steps applies only with --simulate N"),
    (["--simulate", "2", "--max-states", "5"], "--simulate takes no --max-states"),
    (["--simulate", "2", "--workers", "2"], "--simulate takes no --workers"),
    (["--simulate", "2", "--symmetry-savings"], "--simulate takes no --symmetry-savings"),
])
def test_check_refuses_flags_that_would_be_ignored(
    flags: list[str], error: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # each was ignored silently: `--seed 3` alone ran the exhaustive search, and the
    # walks ran without the bound or the workers asked for
    config = tmp_path / "tiny.toml"
    config.write_text(TINY)
    assert main(["check", str(config), "--quiet", *flags]) == 2
    assert error in capsys.readouterr().err


def test_configurations_sharing_a_name_do_not_overwrite_each_others_traces(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # two files without a name are both "default": the second's trace replaced the
    # first's, and the path printed for the first led to the second's trace
    two = tmp_path / "two.toml"
    three = tmp_path / "three.toml"
    two.write_text(TINY.replace('name = "tiny"\n', ""))
    three.write_text(TINY.replace('name = "tiny"\n', "").replace('"n2"]', '"n2", "n3"]'))
    assert main(["check", str(two), str(three), "--property", "read_your_writes", "--quiet",
                 "--trace-dir", str(tmp_path / "traces"), "--json"]) == 1
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    paths = [record["results"][0]["trace"] for record in records]
    assert [Path(p).name for p in paths] == ["default-two.read_your_writes.json",
                                            "default-three.read_your_writes.json"]
    for record, path in zip(records, paths, strict=True):
        saved = json.loads(Path(path).read_text())
        assert saved["config"]["cluster"]["nodes"] == record["configuration"]["cluster"]["nodes"]


def _itf(tmp_path: Path) -> dict[str, object]:
    config = tmp_path / "tiny.toml"
    config.write_text(TINY)
    assert main(["check", str(config), "--property", "read_your_writes", "--quiet", "--itf",
                 "--trace-dir", str(tmp_path)]) == 1
    itf: dict[str, object] = json.loads((tmp_path / "tiny.read_your_writes.itf.json").read_text())
    return itf


@pytest.mark.parametrize(("value", "error"), [
    ({"#bigint": "abc"}, "ITF #bigint must be a string of digits"),   # was a ValueError
    ({"#tup": 5}, "ITF #tup must be a list"),                         # TypeError
    ({"#set": 3}, "ITF #set must be a list"),                         # TypeError
    ({"#map": [[1]]}, "ITF #map must be a list of [key, value] pairs"),  # ValueError
])
def test_a_malformed_itf_value_is_refused_with_exit_2(
    value: object, error: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    itf = _itf(tmp_path)
    itf["states"][1]["clients"] = value  # type: ignore[index]
    path = tmp_path / "bad.itf.json"
    path.write_text(json.dumps(itf))
    assert main(["replay", str(path)]) == 2
    assert error in capsys.readouterr().err


@pytest.mark.parametrize("meta", [5, {"format": "ITF"}])
def test_an_itf_trace_without_vdynamos_meta_is_refused_for_want_of_a_configuration(
    meta: object, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # a #meta of 5 was an AttributeError; one without vdynamo's part replayed against
    # Config()'s defaults, told as "a counterexample to <the description>"
    itf = _itf(tmp_path)
    itf["#meta"] = meta
    path = tmp_path / "foreign.itf.json"
    path.write_text(json.dumps(itf))
    capsys.readouterr()
    assert main(["replay", str(path)]) == 1
    assert "REFUSED at step 0: the trace records no configuration" in capsys.readouterr().out


def test_a_trace_dir_that_is_a_file_is_refused_before_the_search(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # was a FileExistsError traceback from mkdir, after the whole search
    config = tmp_path / "tiny.toml"
    config.write_text(TINY)
    for trace_dir in (config, config / "sub"):
        assert main(["check", str(config), "--quiet", "--trace-dir", str(trace_dir)]) == 2
        assert f"{str(config)!r} is not a directory" in capsys.readouterr().err


@pytest.mark.parametrize("other", [["--seeds", "5"], ["--first", "7"]])
def test_validate_refuses_a_seed_with_a_range_of_seeds(
    other: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    # `--seed 3 --seeds 5` validated seed 3 alone, the range ignored silently
    with pytest.raises(SystemExit) as stop:
        main(["validate", "--seed", "3", *other])
    assert stop.value.code == 2
    assert "--seed validates one seed: give no --seeds or --first" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["check", "show"])
def test_a_setting_without_effect_under_the_clock_is_noted(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # truncation asked for under dvv was checked without a word ("every property
    # holds" read as truncation being safe); the configuration stays valid
    config = tmp_path / "inert.toml"
    config.write_text(TINY + '[features]\nvclock_threshold = 1\nlww_timestamps = "wall-clock"\n')
    args = ["--property", "read_your_writes", "--quiet", "--trace-dir", str(tmp_path)]
    main([command, str(config), *(args if command == "check" else [])])
    err = capsys.readouterr().err
    assert ("note: [features] vclock_threshold = 1 has no effect with clock = 'dvv'" in err
            and "note: [features] lww_timestamps = 'wall-clock' has no effect" in err)


def test_no_suite_configuration_sets_a_setting_without_effect() -> None:
    from model_check.suite import DEFAULT_SUITE

    assert [e.name for e in DEFAULT_SUITE if e.config.inert_settings()] == []


@pytest.mark.parametrize("on", ["spec", "impl"])
def test_an_action_with_an_unknown_field_is_refused(
    on: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # a misspelt or tampered field ("nod" for "node") was dropped and the step replayed
    data = json.loads(_trace(tmp_path).read_text())
    data["actions"][1]["extra_field"] = 1
    path = tmp_path / "tampered.json"
    path.write_text(json.dumps(data))
    capsys.readouterr()
    assert main(["replay", str(path), "--on", on]) == 1
    out = capsys.readouterr().out
    assert "REFUSED at step 2" in out and "unknown field 'extra_field'" in out


@pytest.mark.parametrize(("name", "stem"), [("../x y", "x-y"), (".hidden", "hidden"),
                                            ("..", "config")])
def test_a_trace_file_is_never_hidden(
    name: str, stem: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # a name starting with a dot (or "../") gave a hidden trace file ("..-x-y....json")
    config = tmp_path / "named.toml"
    config.write_text(TINY.replace('"tiny"', json.dumps(name)))
    assert main(["check", str(config), "--property", "read_your_writes", "--quiet",
                 "--trace-dir", str(tmp_path / "t")]) == 1
    assert [p.name for p in (tmp_path / "t").iterdir()] == [f"{stem}.read_your_writes.json"]


@pytest.mark.parametrize("flags", [["--symmetry-savings"], ["--por", "--por-savings"]])
def test_savings_are_not_compared_under_a_state_bound(
    flags: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # `--max-states 2000 --symmetry-savings` on spec/default.toml said "symmetry saved 0
    # of 2,000 states (1.0x); verdicts and counterexample lengths DIFFER without it":
    # two different 2,000-state prefixes, read as an unsound reduction
    config = tmp_path / "tiny.toml"
    config.write_text(TINY)
    assert main(["check", str(config), "--quiet", "--max-states", "5", *flags]) == 2
    assert f"{flags[-1]} compares two searches: no --max-states" in capsys.readouterr().err
