"""Every node of a cluster file has a data file of its own: two ``[nodes.*]``
sections naming one file are a ConfigError naming both, and ``vdynamo serve``
refuses them (exit 2). Before session 14's probe B they were served: two nodes'
replicas in one SQLite file (one copy of each key they share) and one set of
meta entries (membership view, actor, key epochs) read by both."""

from __future__ import annotations

from pathlib import Path

import pytest

from impl import errors
from impl.runtime_config import Address, check_distinct_data, load_runtime_config
from tests.runtime.procs import vdynamo

_SECRET = 'secret = "0123456789abcdef0123456789abcdef"'


def _write(tmp_path: Path, n1: str, n2: str) -> Path:
    path = tmp_path / "cluster.toml"
    path.write_text("\n".join([
        "[cluster]", 'nodes = ["n1", "n2"]', "n = 2", "r = 1", "w = 1", _SECRET, "",
        "[nodes.n1]", 'peer = "127.0.0.1:0"', 'http = "127.0.0.1:0"', n1, "",
        "[nodes.n2]", 'peer = "127.0.0.1:0"', 'http = "127.0.0.1:0"', n2, ""]))
    path.chmod(0o600)
    return path


@pytest.mark.parametrize(("n1", "n2"), [
    ('data = "same.sqlite"', 'data = "same.sqlite"'),
    ('data = "same.sqlite"', 'data = "./d/../same.sqlite"'),
    ("", 'data = "n1.sqlite"'),  # n1's default file
])
def test_two_nodes_on_one_data_file_are_refused_naming_both(tmp_path: Path, n1: str,
                                                             n2: str) -> None:
    (tmp_path / "d").mkdir()
    with pytest.raises(errors.ConfigError, match=r"\[nodes.n2\] data: .* is also the data "
                       r"file of \[nodes.n1\]"):
        load_runtime_config(_write(tmp_path, n1, n2))


def test_distinct_data_files_load(tmp_path: Path) -> None:
    config = load_runtime_config(_write(tmp_path, 'data = "a/n1.sqlite"', ""))
    assert config.nodes["n1"].data == tmp_path / "a/n1.sqlite"
    assert config.nodes["n2"].data == tmp_path / "n2.sqlite"


def test_serve_refuses_a_shared_data_file_and_starts_nothing(tmp_path: Path) -> None:
    path = _write(tmp_path, 'data = "same.sqlite"', 'data = "same.sqlite"')
    done = vdynamo("serve", str(path), "--all", timeout=30)
    assert done.returncode == 2, done.stderr
    assert "is also the data file of [nodes.n1]" in done.stderr
    assert not (tmp_path / "same.sqlite").exists()


def _write_ports(tmp_path: Path, ports: tuple[str, str, str, str]) -> Path:
    path = tmp_path / "cluster.toml"
    path.write_text("\n".join([
        "[cluster]", 'nodes = ["n1", "n2"]', "n = 2", "r = 1", "w = 1", _SECRET, "",
        "[nodes.n1]", f'peer = "{ports[0]}"', f'http = "{ports[1]}"', "",
        "[nodes.n2]", f'peer = "{ports[2]}"', f'http = "{ports[3]}"', ""]))
    path.chmod(0o600)
    return path


@pytest.mark.parametrize(("ports", "named"), [
    (("127.0.0.1:7001", "127.0.0.1:8001", "127.0.0.1:7001", "127.0.0.1:8002"),
     r"\[nodes.n2\] peer: 127.0.0.1:7001 is also \[nodes.n1\] peer"),
    (("127.0.0.1:7001", "127.0.0.1:7001", "127.0.0.1:7002", "127.0.0.1:8002"),
     r"\[nodes.n1\] http: 127.0.0.1:7001 is also \[nodes.n1\] peer"),
    (("127.0.0.1:7001", "127.0.0.1:8001", "127.0.0.1:7002", "7001"),  # a bare port
     r"\[nodes.n2\] http: 127.0.0.1:7001 is also \[nodes.n1\] peer"),
    (("[::1]:7001", "127.0.0.1:8001", "[::1]:7001", "127.0.0.1:8002"),
     r"\[nodes.n2\] peer: \[::1\]:7001 is also \[nodes.n1\] peer"),
])
def test_one_address_given_twice_is_refused_naming_both_keys(
        tmp_path: Path, ports: tuple[str, str, str, str], named: str) -> None:
    with pytest.raises(errors.ConfigError, match=named):
        load_runtime_config(_write_ports(tmp_path, ports))


@pytest.mark.parametrize("ports", [
    ("127.0.0.1:7001", "127.0.0.1:8001", "127.0.0.2:7001", "127.0.0.2:8001"),
    ("127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"),  # the kernel picks
])
def test_distinct_addresses_and_port_zero_load(tmp_path: Path,
                                               ports: tuple[str, str, str, str]) -> None:
    config = load_runtime_config(_write_ports(tmp_path, ports))
    assert set(config.nodes) == {"n1", "n2"}


def test_serve_refuses_a_shared_port_naming_both_keys(tmp_path: Path) -> None:
    path = _write_ports(tmp_path, ("127.0.0.1:0", "127.0.0.1:1", "127.0.0.1:0",
                                   "127.0.0.1:1"))
    done = vdynamo("serve", str(path), "--all", timeout=30)
    assert done.returncode == 2, done.stderr
    assert "[nodes.n2] http: 127.0.0.1:1 is also [nodes.n1] http" in done.stderr


@pytest.mark.parametrize(("data", "where"), [
    ("[cluster]\n".encode("utf-16"), "byte 0xff at offset 0"),  # a Windows editor's UTF-16
    (b'[cluster]\nnodes = ["n\xe9"]\n', "byte 0xe9 at offset 21"),  # Latin-1 text
])
def test_a_cluster_file_that_is_not_utf8_is_a_config_error(tmp_path: Path, data: bytes,
                                                            where: str) -> None:
    path = tmp_path / "cluster.toml"
    path.write_bytes(data)
    with pytest.raises(errors.ConfigError, match=f"not UTF-8 text .*{where}"):
        load_runtime_config(path)
    path.chmod(0o600)
    done = vdynamo("serve", str(path), "--all", timeout=30)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert "not UTF-8 text" in done.stderr


def test_a_seed_without_addresses_is_refused_and_a_known_one_loads(tmp_path: Path) -> None:
    """``seeds = ["m1"]`` (a typo of n1): a joining node gossiped with no one and
    answered 503 "has not joined the ring yet" for good, with nothing logged (seen
    with n1 running and n2 joining, session 14's probe B)."""
    path = tmp_path / "cluster.toml"
    lines = ["[cluster]", 'nodes = ["n1"]', "n = 1", "r = 1", "w = 1", _SECRET,
             "", "[nodes.n1]", 'peer = "127.0.0.1:0"', 'http = "127.0.0.1:0"',
             "", "[nodes.n2]", 'peer = "127.0.0.1:0"', 'http = "127.0.0.1:0"', ""]
    path.write_text("\n".join(lines).replace("w = 1", 'w = 1\nseeds = ["m1"]'))
    with pytest.raises(errors.ConfigError, match=r"\[cluster\] seeds: 'm1' has no \[nodes.m1\]"):
        load_runtime_config(path)
    path.write_text("\n".join(lines).replace("w = 1", 'w = 1\nseeds = ["n1", "n2"]'))
    assert load_runtime_config(path).cluster.seeds == ("n1", "n2")


def _write_hosts(tmp_path: Path, host1: str, host2: str) -> Path:
    path = tmp_path / "cluster.toml"
    path.write_text("\n".join([
        "[cluster]", 'nodes = ["n1", "n2"]', "n = 2", "r = 1", "w = 1", _SECRET, "",
        "[nodes.n1]", f'peer = "{host1}:7001"', f'http = "{host1}:8001"',
        'data = "/var/lib/vdynamo/data.sqlite"', "",
        "[nodes.n2]", f'peer = "{host2}:7001"', f'http = "{host2}:8001"',
        'data = "/var/lib/vdynamo/data.sqlite"', ""]))
    path.chmod(0o600)
    return path


def test_one_data_path_on_two_machines_loads(tmp_path: Path) -> None:
    """A cluster file shared by two machines, each node's section naming the same
    absolute path (each machine's own file): served before session 14's probe B,
    refused by its check, served again (session 14's review)."""
    config = load_runtime_config(_write_hosts(tmp_path, "10.0.0.1", "10.0.0.2"))
    assert config.nodes["n1"].data == config.nodes["n2"].data


@pytest.mark.parametrize(("host1", "host2"), [
    ("10.0.0.1", "10.0.0.1"), ("127.0.0.1", "localhost"), ("127.0.0.1", "127.0.0.2"),
    ("[::1]", "127.0.0.1"), ("Box.example", "box.example"),
])
def test_one_data_path_on_hosts_of_one_machine_is_refused(tmp_path: Path, host1: str,
                                                          host2: str) -> None:
    with pytest.raises(errors.ConfigError, match=r"\[nodes.n2\] data: .* is also the data "
                       r"file of \[nodes.n1\]"):
        load_runtime_config(_write_hosts(tmp_path, host1, host2))


def test_serve_all_refuses_one_data_path_whatever_the_hosts(tmp_path: Path) -> None:
    """Nodes served by one process share its machine: ``--all`` refuses one data
    path even under two hosts (exit 2, before any bind)."""
    path = tmp_path / "cluster.toml"
    path.write_text(_write_hosts(tmp_path, "10.0.0.1", "10.0.0.2").read_text().replace(
        "/var/lib/vdynamo/data.sqlite", str(tmp_path / "same.sqlite")))
    with pytest.raises(errors.ConfigError, match=r"\[nodes.n2\] data: .* is also"):
        check_distinct_data(load_runtime_config(path).nodes, ["n1", "n2"])
    check_distinct_data(load_runtime_config(path).nodes, ["n1"])
    done = vdynamo("serve", str(path), "--all", timeout=30)
    assert done.returncode == 2, done.stderr
    assert "is also the data file of [nodes.n1]" in done.stderr
    assert not (tmp_path / "same.sqlite").exists()


def _write_replacement(tmp_path: Path, n4: bool) -> Path:
    """Initial n1, n2, n3 on fixed ports; with ``n4`` a new node's section on the
    addresses of n3 (which, say, left: it keeps its section, being initial)."""
    path = tmp_path / "cluster.toml"
    lines = ["[cluster]", 'nodes = ["n1", "n2", "n3"]', _SECRET, ""]
    for i in (1, 2, 3):
        lines += [f"[nodes.n{i}]", f'peer = "127.0.0.1:{7000 + i}"',
                  f'http = "127.0.0.1:{8000 + i}"', ""]
    if n4:
        lines += ["[nodes.n4]", 'peer = "127.0.0.1:7003"', 'http = "127.0.0.1:8003"', ""]
    path.write_text("\n".join(lines))
    path.chmod(0o600)
    return path


def test_a_new_node_on_the_address_of_a_member_that_left_is_told_the_way_forward(
        tmp_path: Path) -> None:
    """A new node n4 on the host:port of n3, which left, is refused: the file does
    not say who left (gossiped state), and the same file with n3 live would be two
    nodes on one port. The refusal names both keys and the way forward (session
    14's review; before, only "every port needs an address of its own", and the
    section an initial member must keep blocked the reuse with no hint): start
    the replacement as n3 with ``--rejoin``, which joins a node that left anew on
    its section's addresses (a fresh store included:
    ``tests/runtime/test_cli_rejoin_deleted_file.py``), and that file loads."""
    path = _write_replacement(tmp_path, n4=True)
    with pytest.raises(errors.ConfigError) as refused:
        load_runtime_config(path)
    message = str(refused.value)
    assert message.startswith("[nodes.n4] peer: 127.0.0.1:7003 is also [nodes.n3] peer; "
                              "every port needs an address of its own; "), message
    assert "if n3 left the cluster" in message
    assert "drop [nodes.n4]" in message
    assert f"`vdynamo serve {path} --node n3 --rejoin`" in message
    assert "`vdynamo join n3`" in message
    config = load_runtime_config(_write_replacement(tmp_path, n4=False))
    assert config.nodes["n3"].peer == Address("127.0.0.1", 7003)


def test_one_nodes_own_two_ports_get_no_replacement_hint(tmp_path: Path) -> None:
    path = _write_ports(tmp_path, ("127.0.0.1:7001", "127.0.0.1:7001", "127.0.0.1:7002",
                                   "127.0.0.1:8002"))
    with pytest.raises(errors.ConfigError) as refused:
        load_runtime_config(path)
    assert str(refused.value) == ("[nodes.n1] http: 127.0.0.1:7001 is also [nodes.n1] peer; "
                                  "every port needs an address of its own")


def test_serve_refuses_a_node_named_twice_naming_it(tmp_path: Path) -> None:
    """``vdynamo serve FILE --node n1 --node n1`` exits 2 naming the repeated node,
    nothing started. Before session 30's user probe it said ``[nodes.n1] data:
    n1.sqlite is also the data file of [nodes.n1]; every node needs a file of its
    own``: a shared file, where the mistake is the argument."""
    path = tmp_path / "cluster.toml"
    path.write_text(_write_hosts(tmp_path, "10.0.0.1", "10.0.0.2").read_text())
    done = vdynamo("serve", str(path), "--node", "n1", "--node", "n1", timeout=30)
    assert done.returncode == 2, done.stderr
    assert "--node n1 given twice" in done.stderr and "data file" not in done.stderr
