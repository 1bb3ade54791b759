"""Terminal escapes and forged log lines carried by keys, values, headers and request
lines (an attacker who can write one key gets an operator's terminal or log
viewer to run OSC 52 (write the clipboard), ESC [2J (clear the screen), a bidi
override (U+202E, "Trojan Source"), or a newline that starts a fake log record:
CWE-117 and CWE-150; the journald and `less -R` reports). Session 30's table
checked the CLI's escaping of odd values and 08/22 probes send bad bytes to get a
4xx; none reads the node's own log after them, nor the CLI's no-value and delete
lines for such keys.

3 processes (`serve --node NAME -v --log-format text`: INFO lines, plain text),
defaults. Values and keys with ESC ] 52 ... BEL,
ESC [2J, CR, U+202E, U+200B, C1 CSI (U+009B), U+2028, a NUL (value); `vdynamo get`,
`get --json`, `delete` of them (and of absent keys holding them); raw requests with
ESC in the path, query, a header name and value, the method, the Host, a key
`a%0A2026-12-08 FAKE ERROR` (decoded newline), a 2 MiB put (over max_value_bytes)
to a key `a%0AFAKE%1B[2J`; then the node's log file.

Right value: nothing the CLI prints (stdout and stderr) holds an ESC, BEL, CR, C1
control, U+202E, U+2028 or a NUL raw (each escaped); every malformed request 400;
the node's log holds none of those bytes raw and no line starting with ``FAKE`` or
``2026-12-08 FAKE``.

Seen (session 61): PASS, about 25 s. The log check guards future lines only: at
INFO a node logs no request line, key or header (19 lines, start and stop), so it
cannot fail today. The CLI checks can: with ``vdynamo.kv_cli.shown``'s
``char.isprintable()`` test made ``True`` the probe FAILs on osc, bidi, csi, c1
(the raw ESC, BEL, U+202E, U+009B printed).

Run from the project's root:
    .venv/bin/python probes/22m-terminal-escapes-and-forged-log-lines-in-keys-values-requests.py
"""
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, ".")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import Checks, LocalNodes, raw, vdynamo_command

VALUES = {"osc": "\x1b]52;c;aGVsbG8=\x07", "cr": "abc\rXYZ", "bidi": "\u202eevil\u202c",
          "zw": "a\u200bb", "csi": "\x1b[2J\x1b[H", "c1": "\u009b2J", "ls": "a\u2028b",
          "nul": "a\x00b"}
RAW = ("\x1b", "\x07", "\r", "\u009b", "\u202e", "\u2028", "\x00")


def dangerous(text: bytes) -> list[str]:
    decoded = text.decode("utf-8", "replace")
    return [repr(ch) for ch in RAW if ch in decoded]


def main() -> None:
    check = Checks()
    c = LocalNodes(nodes=3, per_process=True)
    for name in c.names:  # INFO, plain text: the log an operator tails in a terminal
        c.start_node(name, args=("-v", "--log-format", "text"))
    c.wait_ready()
    try:
        node = ["--node", f"127.0.0.1:{c.http['n1']}"]
        for name, value in VALUES.items():
            check(f"put {name}", c.put(name, value.encode()) == 200)
            runs = [("get", name), ("get", name, "--json")]
            if "\x00" not in value:  # (no NUL in an argv)
                runs += [("get", "x" + value), ("delete", "x" + value)]
            for args in runs:
                done = subprocess.run([*vdynamo_command(), *args, *node], capture_output=True,
                                      timeout=60)
                bad = dangerous(done.stdout + done.stderr)
                check(f"vdynamo {args[0]} {args[1:]!r:.40}: nothing raw", not bad,
                      (bad, done.stdout[:80]))
        port = c.http["n1"]
        requests = [
            b"GET /kv/\x1b]52;c;aGk=\x07 HTTP/1.1\r\nHost: x\r\n\r\n",
            b"PUT /kv/a HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n"
            b"X-Vdynamo-Context: \x1b[31mred\r\n\r\nx",
            b"PUT /kv/k HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nX-Vdynamo-Client: \x1b[31m"
            b"\r\n\r\nx",
            b"GET /kv/k HTTP/1.1\r\nHost: \x1b[2Jevil\r\n\r\n",
            b"\x1b[2J\x1b]0;pwned\x07 / HTTP/1.1\r\n\r\n",
            b"GET /kv/k?r=\x1b[2J HTTP/1.1\r\nHost: x\r\n\r\n",
            b"GET /kv/k?\xe2\x80\xae=1 HTTP/1.1\r\nHost: x\r\n\r\n",
            b"GET /kv/k HTTP/1.1\r\nHost: x\r\nX-\x1b: y\r\n\r\n",
        ]
        for request in requests:
            head = request.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n", 1)
            out = raw(port, head)
            check(f"{request[:30]!r}: 400", out.startswith(b"HTTP/1.1 400"), out[:60])
            body = out.partition(b"\r\n\r\n")[2]
            check(f"{request[:30]!r}: the answer's body has nothing raw", not dangerous(body),
                  dangerous(body))
        out = raw(port, b"GET /kv/a%0A2026-12-08%20FAKE%20ERROR HTTP/1.1\r\nHost: x\r\n"
                        b"Connection: close\r\n\r\n")
        check("the newline key: 404", out.startswith(b"HTTP/1.1 404"), out[:60])
        status = c.put("a%0AFAKE%1B[2J", b"x" * (2 << 20))
        check("2 MiB put to a newline key: 413", status == 413, status)
        time.sleep(1)
    finally:
        c.stop()
        log = b"".join((c.dir / f"{name}.log").read_bytes() for name in c.names)
        shutil.rmtree(c.dir, ignore_errors=True)
    print(f"{len(log.splitlines())} log lines; those naming the keys or requests sent:")
    for line in log.splitlines():
        if any(word in line for word in (b"FAKE", b"pwned", b"52;", b"evil", b"400", b"413")):
            print("  ", repr(line[:200]))
    check("the node's log holds nothing raw", not dangerous(log), dangerous(log))
    forged = [line for line in log.splitlines()
              if line.lstrip().startswith((b"FAKE", b"2026-12-08 FAKE"))]
    check("no forged log line", not forged, forged[:2])
    check.finish()


if __name__ == "__main__":
    main()
