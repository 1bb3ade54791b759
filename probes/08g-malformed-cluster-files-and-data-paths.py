"""Cluster files that are wrong in their *structure* rather than their numbers
(22h gives each setting extreme numbers): what an operator gets by hand-editing
cluster.toml, copying one between machines, or a bad deployment script
(Cassandra's "cassandra.yaml typo" and Riak's "riak.conf unknown setting"
reports): a node listed without its section, a section of no listed node, the
same port twice, a node listed twice, R or W over N, N over the nodes, a typo in
a key, a section that is a value, a file that is not UTF-8, has a BOM, is empty,
is a directory, a FIFO, a symlink loop; data paths that are a directory, under a
missing directory, a read-only file, in a read-only directory, shared by two
nodes. Not refused, by design: a section of a node the `nodes` list does not
name (`vdynamo join` writes one for each joined node), a data path under a
missing directory (created), a FIFO as the file (read until its writer closes:
`vdynamo serve <(...)` passes a pipe).

Each file is given to `vdynamo serve FILE --all` (and `--node n1` for the data
paths).
Right value: exit non-zero within 20 s, the last line `vdynamo serve: ...` naming
the key, section or file that is wrong, no traceback; a node that does start
(a read-only data file may be opened for reads) must then refuse writes with a
5xx and acknowledge none.

Run from the project's root: .venv/bin/python probes/08g-malformed-cluster-files-and-data-paths.py
"""
import os
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from _cluster import Checks, cluster_file, free_port, vdynamo_command

check = Checks()



def serve(path: Path, args: list[str], what: str, names: str, directory: Path) -> None:
    """Run serve; it must exit non-zero with one line naming one of ``names``."""
    proc = subprocess.Popen([*vdynamo_command(), "serve", str(path), *args], cwd=directory,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        out, _ = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate(timeout=10)
        check(f"{what}: refused within 20 s", False, out.decode(errors="replace")[-300:])
        return
    text = out.decode(errors="replace").strip()
    last = text.splitlines()[-1] if text else ""
    print(f"{what}: exit {proc.returncode}: {last[:160]}")
    check(f"{what}: exit non-zero", proc.returncode not in (0, None), proc.returncode)
    check(f"{what}: no traceback", "Traceback" not in text, text[-400:])
    check(f"{what}: one line naming {names}", last.startswith("vdynamo serve")
          and any(name in last for name in names.split("|")), last)


def structural() -> None:
    names = ["n1", "n2", "n3"]
    cases: list[tuple[str, str, str]] = []  # (what, file text edit, expected word)

    def ports() -> tuple[dict[str, int], dict[str, int]]:
        return ({n: free_port() for n in names}, {n: free_port() for n in names})

    with tempfile.TemporaryDirectory(prefix="vdynamo-probe-") as d:
        directory = Path(d)
        peer, http = ports()
        base = cluster_file(directory, names, "", peer, http).read_text()
        cases = [
            ("a listed node without its section",
             base.replace(f'[nodes.n3]\npeer = "127.0.0.1:{peer["n3"]}"\n'
                          f'http = "127.0.0.1:{http["n3"]}"\n', ""), "n3"),
            ("the same peer port twice", base.replace(f'127.0.0.1:{peer["n2"]}',
                                                      f'127.0.0.1:{peer["n1"]}'), "n1|n2|port"),
            ("a peer port that is another's http port",
             base.replace(f'peer = "127.0.0.1:{peer["n2"]}"',
                          f'peer = "127.0.0.1:{http["n1"]}"'), "n1|n2|port"),
            ("a node listed twice", base.replace('nodes = ["n1", "n2", "n3"]',
                                                 'nodes = ["n1", "n2", "n3", "n1"]'), "nodes|n1"),
            ("no nodes", base.replace('nodes = ["n1", "n2", "n3"]', "nodes = []"), "nodes"),
            ("nodes a string", base.replace('nodes = ["n1", "n2", "n3"]', 'nodes = "n1,n2,n3"'),
             "nodes"),
            ("r over n", base.replace("r = 2", "r = 4"), "r"),
            ("w over n", base.replace("w = 2", "w = 4"), "w"),
            ("n over the nodes", base.replace("n = 3", "n = 5"), "n"),
            ("n zero", base.replace("n = 3", "n = 0"), "n"),
            ("a typo in a key", base.replace("w = 2", "w = 2\nreplica_timout = 2"),
             "replica_timout"),
            ("a key outside any section", "stray = 1\n" + base, "stray"),
            ("[cluster] as a value", base.replace("[cluster]\n", "cluster = 1\n[x]\n"),
             "cluster|x"),
            ("[nodes.n1] as a value", base.replace(f'[nodes.n1]\npeer = "127.0.0.1:{peer["n1"]}"'
                                                   f'\nhttp = "127.0.0.1:{http["n1"]}"\n',
                                                   "").replace("[nodes.n2]",
                                                               "[nodes]\nn1 = 5\n[nodes.n2]"),
             "n1|nodes"),
            ("[nodes.n1] peer missing", base.replace(f'peer = "127.0.0.1:{peer["n1"]}"\n', ""),
             "peer"),
            ("an unknown key in a node section", base.replace("[nodes.n1]\n",
                                                              '[nodes.n1]\nhttps = "x"\n'),
             "https"),
            ("an unknown section", base + "\n[storge]\nfsync = \"always\"\n", "storge"),
            ("a bad fsync", base + '\n[storage]\nfsync = "sometimes"\n', "fsync"),
            ("batch zero", base + '\n[storage]\nfsync = "buffered"\nbatch = 0\n', "batch"),
            ("secret of 15 bytes", base.replace("secret = ", 'secret = "123456789012345"\n#'),
             "secret"),
            ("secret an int", base.replace("secret = ", "secret = 1234567890123456789\n#"),
             "secret"),
            ("a TOML syntax error", base.replace("n = 3", "n = = 3"), "TOML|toml"),
            ("the same key twice", base.replace("n = 3", "n = 3\nn = 3"), "TOML|toml|n"),
            ("empty", "", "cluster"),
            ("a clock mode of another spelling", base + '\n', "clock"),
        ]
        cases[-1] = ("a clock mode of another spelling",
                     base.replace("w = 2\n", 'w = 2\nclock = "LWW"\n'), "clock")
        for what, text, names_expected in cases:
            path = directory / "cluster.toml"
            path.write_text(text)
            serve(path, ["--all"], what, names_expected, directory)
        for what, data, expected in (("Latin-1 bytes", base.encode().replace(b"[cluster]",
                                      b"# caf\xe9\n[cluster]"), "UTF-8|utf-8|decode"),
                                     ("a UTF-8 BOM", b"\xef\xbb\xbf" + base.encode(), "BOM|TOML|toml"),
                                     ("a NUL byte", base.encode().replace(b"n = 3", b"n = 3\0"),
                                      "TOML|toml|NUL")):
            path = directory / "cluster.toml"
            path.write_bytes(data)
            serve(path, ["--all"], what, expected, directory)
        # the file itself: a directory, a FIFO, a symlink loop, missing, unreadable
        (directory / "adir.toml").mkdir()
        serve(directory / "adir.toml", ["--all"], "the file a directory", "adir", directory)
        os.symlink(directory / "loop.toml", directory / "loop.toml")
        serve(directory / "loop.toml", ["--all"], "the file a symlink loop", "loop", directory)
        serve(directory / "missing.toml", ["--all"], "the file missing", "missing", directory)
        unreadable = directory / "unreadable.toml"
        unreadable.write_text(base)
        unreadable.chmod(0)
        if os.geteuid() != 0:
            serve(unreadable, ["--all"], "the file unreadable", "unreadable", directory)


def data_paths() -> None:
    names = ["n1", "n2", "n3"]
    with tempfile.TemporaryDirectory(prefix="vdynamo-probe-") as d:
        directory = Path(d)
        (directory / "isadir.sqlite").mkdir()
        readonly_dir = directory / "ro"
        readonly_dir.mkdir()
        for what, data, expected in (
                ("the data path a directory", "isadir.sqlite", "isadir"),
                ("the data path in a read-only directory (not as root)", "ro/n1.sqlite", "ro"),
                ("the data path empty", "", "data")):
            peer = {n: free_port() for n in names}
            http = {n: free_port() for n in names}
            path = cluster_file(directory, names, "", peer, http)
            path.write_text(path.read_text().replace(
                f'[nodes.n1]\npeer = "127.0.0.1:{peer["n1"]}"\n',
                f'[nodes.n1]\npeer = "127.0.0.1:{peer["n1"]}"\ndata = "{data}"\n'))
            readonly_dir.chmod(0o500)
            if "read-only" in what and os.geteuid() == 0:
                continue
            serve(path, ["--node", "n1"], what, expected, directory)
            readonly_dir.chmod(0o700)
        if os.geteuid() == 0:
            print("a read-only data file: not tried as root (root writes a 0444 file)")
            return
        # a read-only data file: written once, then chmod 444; the node on it
        peer = {n: free_port() for n in names}
        http = {n: free_port() for n in names}
        path = cluster_file(directory, names, "w = 1\nr = 1", peer, http)
        proc = subprocess.Popen([*vdynamo_command(), "serve", str(path), "--node", "n1"],
                                cwd=directory, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        time.sleep(4)
        proc.terminate()
        proc.wait(20)
        for file in directory.glob("n1.sqlite*"):
            file.chmod(0o444)
        log = open(directory / "ro-n1.log", "wb")
        proc = subprocess.Popen([*vdynamo_command(), "serve", str(path), "--node", "n1"],
                                cwd=directory, stdout=log, stderr=log)
        try:
            deadline = time.time() + 15
            answer: object = "not started"
            while time.time() < deadline and proc.poll() is None:
                req = urllib.request.Request(f"http://127.0.0.1:{http['n1']}/kv/k?w=1",
                                             data=b"v", method="PUT")
                try:
                    with urllib.request.urlopen(req, timeout=10) as resp:
                        answer = resp.status
                    break
                except urllib.error.HTTPError as err:
                    answer = err.code
                    break
                except OSError:
                    time.sleep(0.2)
            text = (directory / "ro-n1.log").read_text(errors="replace")
            print(f"a read-only data file: exit {proc.poll()}, a w=1 put: {answer}; "
                  f"log: {text.strip().splitlines()[-1][:200] if text.strip() else ''}")
            check("a read-only data file: no write acknowledged", answer != 200, answer)
            check("a read-only data file: no traceback", "Traceback" not in text, text[-400:])
        finally:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(10)
            log.close()
            for file in directory.glob("n1.sqlite*"):
                file.chmod(0o644)


structural()
data_paths()
check.finish()
