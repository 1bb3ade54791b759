"""``vdynamo cluster up --adopt-store`` (and ``cluster start NODE --adopt-store``): a
change of a shared setting made on purpose (here ``n``) taken under ``vdynamo
cluster``. Session 49's operator walk: ``n = 2`` edited, ``cluster up`` refused to
start ("... start each once with --adopt-store"), and ``cluster up`` had no such
flag: the way out was ``vdynamo serve ... --adopt-store`` by hand, a process outside
the directory's record. Two processes, bounded, every process stopped."""

from __future__ import annotations

from pathlib import Path

from tests.runtime.procs import FAST_UP, cli, cluster_up, http, request


def test_n_changed_on_purpose_is_adopted_by_cluster_up(tmp_path: Path) -> None:
    """Two nodes, N = 2, a key written at W = 2; every node stopped, ``n = 1`` (and
    ``w = 1``) edited: ``cluster up`` exits 1 naming ``--adopt-store`` and how to pass it under
    ``vdynamo cluster``; with one node running, ``up --adopt-store`` is refused (exit
    2, nothing started); with both stopped it starts both (exit 0, said on stderr),
    the key is read, and a later plain ``up`` starts them (the stores now record N =
    1). Mutants: ``_start`` dropping ``--adopt-store`` (exit 1); the hint not appended
    to the refusal; the running-node refusal removed (exit 0): each fails."""
    with cluster_up(tmp_path / "c", "--nodes", "2", "--n", "2", "--r", "1", "--w", "2",
                    *FAST_UP) as directory:
        where = ["--dir", str(directory)]
        assert request("PUT", http(directory, "n1") + "/kv/k?w=2", b"kept")[0] == 200
        assert cli("cluster", "down", *where).returncode == 0
        config = directory / "cluster.toml"
        config.write_text(config.read_text().replace("\nn = 2\n", "\nn = 1\n").replace(
            "\nw = 2\n", "\nw = 1\n"))

        refused = cli("cluster", "up", *where)
        assert refused.returncode == 1, refused
        assert "n '2' then, '1' now" in refused.stderr, refused.stderr
        assert (f"(under `vdynamo cluster`: every node stopped (`vdynamo cluster down "
                f"--dir {directory}`), `vdynamo cluster up --dir {directory} "
                "--adopt-store` passes it on to each)") in refused.stderr, refused.stderr

        assert cli("cluster", "start", "n1", "--adopt-store", *where).returncode == 0
        beside = cli("cluster", "up", "--adopt-store", *where)
        assert beside.returncode == 2, beside
        assert "every node stopped" in beside.stderr and "n1 running" in beside.stderr
        assert cli("cluster", "down", *where).returncode == 0

        adopted = cli("cluster", "up", "--adopt-store", *where)
        assert adopted.returncode == 0, adopted
        assert "--adopt-store: the data files of n1, n2 are recorded" in adopted.stderr
        code, _, body = request("GET", http(directory, "n2") + "/kv/k?r=1")
        assert (code, body) == (200, b"kept"), (code, body)
        assert cli("cluster", "down", *where).returncode == 0
        assert cli("cluster", "up", *where).returncode == 0  # no flag needed again
