"""A captured peer session replayed (20a-20c forge hellos and frames; 20d-20f are
members; tests/runtime/test_peer_replay.py replays frames inside the test's own
session): someone on the path records the bytes n1 sends to n2's peer port (a
mirrored switch port, a tcpdump left running) while a key is written and later
deleted, and once the delete is reaped, sends the recorded stream again on new
connections, whole or with the hello answered live, to n2 and to n3: the
ReplicaPuts of the old value would bring it back if anything of the old session
were taken (Riak's handoff port and Cassandra's internode port carried no
authentication, so any replay was taken: CVE-2015-0225's family).

Run in a network namespace of its own (re-executed by itself, as 21h; a capture of
its own loopback with an AF_PACKET socket): 3 processes (`serve --node`), dvv,
`tombstone_grace_s = 0.5`, fast rounds. While the capture runs: `k` v1 at w=3
through n1, v2 with its context, deleted with its context at w=3 and read at r=3
(the reap); 4 s. The flows from n1's process to n2's peer port are reassembled
(by TCP sequence). Then (a) each recorded stream sent whole on a new connection to
n2, (b) the recorded hello sent, n2's challenge read, the recorded proof and frames
sent after it, (c) (a) against n3.

Right value: every replay refused at its proof (nothing of the recorded session
verifies against a fresh nonce); `k` not found at r=3 through every node 3 s later;
`other` (written once, never deleted) still [o1]; n2's and n3's logs name the
refusals.

Needs root (or the capabilities to make a network namespace and capture on it);
skipped (exit 0, says so) otherwise. Run from the project's root:
.venv/bin/python probes/20i-captured-peer-session-replayed.py
Loopback only (its own namespace), about 30 s; every process stopped.
"""
from __future__ import annotations

import socket
import struct
import sys
import threading
import time
from importlib import import_module
from pathlib import Path

sys.path.insert(0, ".")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import Checks, LocalNodes, recv_exact  # noqa: E402

from impl.peer_auth import (  # noqa: E402
    HELLO_HEAD_BYTES,
    NONCE_BYTES,
    TAG_BYTES,
    parse_hello_head,
)

black_hole = import_module("21h-black-holed-peer-connections")
FAST = "gossip_interval = 0.25\nhint_scan_interval = 0.25\nanti_entropy_interval = 0.5"


class Capture:
    """TCP payloads seen on the loopback (AF_PACKET), by flow and sequence number."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.ntohs(0x0003))
        self.sock.bind(("lo", 0))
        self.sock.settimeout(0.2)
        self.segments: dict[tuple[int, int], dict[int, bytes]] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.is_set():
            try:
                packet = self.sock.recv(262144)
            except TimeoutError:
                continue
            ip = packet[14:]
            if len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != 6:
                continue
            ihl = (ip[0] & 15) * 4
            total = struct.unpack("!H", ip[2:4])[0]
            tcp = ip[ihl:total]
            sport, dport, seq = struct.unpack("!HHI", tcp[:8])
            payload = tcp[(tcp[12] >> 4) * 4:]
            if payload:
                self.segments.setdefault((sport, dport), {})[seq] = payload

    def streams_to(self, port: int) -> list[bytes]:
        """Each flow's bytes to ``port``, reassembled (overlaps and repeats dropped)."""
        self.stop.set()
        self.thread.join(5)
        out = []
        for (_, dport), segments in self.segments.items():
            if dport != port:
                continue
            data, at = b"", None
            for seq in sorted(segments):
                piece = segments[seq]
                if at is not None and seq < at:
                    piece = piece[at - seq:]
                data += piece
                at = max(at or 0, seq + len(segments[seq]))
            out.append(data)
        return out


def hello_length(stream: bytes) -> int:
    name, info = parse_hello_head(stream[:HELLO_HEAD_BYTES])
    return HELLO_HEAD_BYTES + name + info + NONCE_BYTES


def replay_whole(port: int, stream: bytes) -> str:
    got = b""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        try:
            s.sendall(stream)
            s.shutdown(socket.SHUT_WR)
            while chunk := s.recv(65536):
                got += chunk
        except OSError as error:
            return f"closed ({type(error).__name__}) after {len(got)} bytes back"
    return f"closed after {len(got)} bytes back"


def replay_answered(port: int, stream: bytes) -> str:
    """The recorded hello; the node's challenge read; the recorded proof and frames."""
    cut = hello_length(stream)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(stream[:cut])
        name, info = parse_hello_head(recv_exact(s, HELLO_HEAD_BYTES))
        recv_exact(s, name + info + NONCE_BYTES + TAG_BYTES)
        try:
            s.sendall(stream[cut:])
            s.shutdown(socket.SHUT_WR)
            rest = b""
            while chunk := s.recv(65536):
                rest += chunk
        except OSError as error:
            return f"closed ({type(error).__name__})"
    return f"closed after {len(rest)} bytes more"


def main() -> None:
    black_hole.in_namespace()
    checks = Checks()
    c = LocalNodes(nodes=3, per_process=True,
                   extra_cluster=f'clock = "dvv"\ntombstone_grace_s = 0.5\n{FAST}')
    capture = Capture()  # before the start: the peer connections' hellos recorded
    try:
        c.start()
        codes = [c.put("other", b"o1", query="?w=3"), c.put("k", b"v1", query="?w=3")]
        _, ctx = c.read("k")
        codes.append(c.put("k", b"v2", context=ctx, query="?w=3"))
        _, ctx = c.read("k")
        codes.append(c.request("DELETE", "k", node="n1", query="?w=3",
                               headers={"X-Vdynamo-Context": ctx or ""})[0])
        c.values("k", node="n2", query="?r=3")
        time.sleep(4.0)
        streams = [s for s in capture.streams_to(c.peer["n2"]) if s.startswith(b"VDYNHELO")]
        n1_streams = [s for s in streams if s[HELLO_HEAD_BYTES:HELLO_HEAD_BYTES + 2] == b"n1"]
        sizes = [len(s) for s in n1_streams]
        outcomes = []
        for stream in n1_streams:
            outcomes.append(("n2 whole", replay_whole(c.peer["n2"], stream)))
            outcomes.append(("n2 answered", replay_answered(c.peer["n2"], stream)))
            outcomes.append(("n3 whole", replay_whole(c.peer["n3"], stream)))
        time.sleep(3.0)
        seen = {n: (sorted(c.values("k", node=n, query="?r=3")),
                    sorted(c.values("other", node=n, query="?r=3"))) for n in c.names}
        logs = {n: (c.dir / f"{n}.log").read_text(errors="replace") for n in ("n2", "n3")}
        refusals = {n: text.count("failed the challenge") for n, text in logs.items()}
        print(f"writes {codes}; recorded flows from n1 to n2's peer port: {sizes} bytes")
        for what, outcome in outcomes:
            print(f"   replay {what}: {outcome}")
        print(f"k and other at r=3 3 s later: {seen}; refusals logged {refusals}")
        checks("writes 200", set(codes) <= {200, 204}, codes)
        checks("a session from n1 to n2 recorded with frames", any(s > 2000 for s in sizes), sizes)
        checks("k stays deleted, other [o1], everywhere",
               all(v == ([], [b"o1"]) for v in seen.values()), seen)
        checks("the replays refused and logged at n2 and n3",
               refusals["n2"] >= 2 and refusals["n3"] >= 1, refusals)
    finally:
        capture.stop.set()
        c.__exit__()
    checks.finish()


if __name__ == "__main__":
    main()
