"""``vdynamo put/get/delete`` take KEY and VALUE as the bytes given on the command
line: an argument that is not UTF-8 arrives in ``sys.argv`` decoded with
surrogateescape, and is stored as its bytes (session 12's second probe: a value
such as ``$'\\xff\\xfe'`` ended ``put`` in a UnicodeEncodeError traceback)."""

from __future__ import annotations

import asyncio
import base64
import io
import os
from pathlib import Path
from typing import Any

import pytest

from impl.errors import InvalidValueError
from tests.runtime.live import call, cluster, run, url
from vdynamo.kv_cli import main_delete, main_get, main_put, shown


def test_a_key_and_value_not_utf8_are_stored_as_their_bytes(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key, value = os.fsdecode(b"\xffkey"), os.fsdecode(b"\xff\xfe")  # as sys.argv has them

    async def scenario() -> None:
        async with cluster(tmp_path) as servers:
            node = servers[0]
            address = str(node.http_address)
            assert await asyncio.to_thread(main_put, ["--node", address, key, value]) == 0
            status, _, got = await call("GET", url(node, "/kv/%FFkey"))
            assert status == 200
            assert [base64.b64decode(v) for v in got["values"]] == [b"\xff\xfe"]
            assert await asyncio.to_thread(main_get, ["--node", address, key, "--json"]) == 0
            assert await asyncio.to_thread(main_delete, ["--node", address, key]) == 0
            status, _, got = await call("GET", url(node, "/kv/%FFkey"))
            assert status == 404 and got["values"] == []
    run(scenario())
    out = capsys.readouterr()
    assert '"values": ["//4="]' in out.out and "Traceback" not in out.err


def test_each_printed_line_is_one_sibling_and_reads_back_unambiguously(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Session 30's user probe: ``vdynamo get`` printed a value decoded with
    ``backslashreplace``, so the one value ``line1\\nline2`` printed as the two lines
    two siblings ``line1`` and ``line2`` print, and the text ``x\\xffy`` (a backslash)
    as the bytes ``x``, 0xFF, ``y``."""
    async def scenario() -> list[str]:
        outputs = []
        async with cluster(tmp_path) as servers:
            address = str(servers[0].http_address)
            puts = [("one", "line1\nline2"), ("two", "line1"), ("two", "line2"),
                    ("text", "x\\xffy"), ("bytes", os.fsdecode(b"x\xffy"))]
            for key, value in puts:  # blind puts: "two" gets two siblings
                assert await asyncio.to_thread(main_put, ["--node", address, key, value]) == 0
            capsys.readouterr()
            for key in ("one", "two", "text", "bytes"):
                assert await asyncio.to_thread(main_get, ["--node", address, key]) == 0
                printed = capsys.readouterr().out.splitlines()
                assert printed[-1].startswith("context: ")
                outputs.append("\n".join(sorted(printed[:-1])))
        return outputs
    one, two, text, raw = run(scenario())
    assert one == "line1\\nline2" and two == "line1\nline2"  # before: equal
    assert text == "x\\\\xffy" and raw == "x\\xffy"  # before: both x\xffy
    assert shown(b"caf\xc3\xa9 \t\r\x00\x7f") == "café \\t\\r\\x00\\x7f"
    assert shown("\u2028\U0001f600".encode()) == "\\u2028\U0001f600"


def test_a_value_over_one_arguments_limit_is_put_from_a_file_or_the_standard_input(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Session 38's user probe: Linux refuses one argument over 128 KiB (``Argument
    list too long``), so ``vdynamo put`` could not write a value of 128 KiB-1 MiB that
    the cluster accepts. ``--value-file PATH`` (``-``: the standard input) and, with
    VALUE left out, the standard input (as ``etcdctl put``) give its bytes whole; a
    value given twice, none on a terminal, or a file that cannot be read is one line,
    exit 1, nothing sent."""
    big = bytes(range(256)) * 800  # 204,800 bytes, every byte value
    (tmp_path / "value.bin").write_bytes(big)

    class Terminal(io.BytesIO):
        def isatty(self) -> bool:
            return True

    async def scenario() -> None:
        async with cluster(tmp_path / "c") as servers:
            node = servers[0]
            address = str(node.http_address)

            async def put(argv: list[str], stdin: io.BytesIO) -> int:
                return await asyncio.to_thread(main_put, ["--node", address, *argv], stdin)

            async def stored(path: str) -> list[bytes]:
                status, _, got = await call("GET", url(node, path))
                assert status == 200
                return [base64.b64decode(v) for v in got["values"]]

            assert await put(["f", "--value-file", str(tmp_path / "value.bin")],
                             io.BytesIO()) == 0
            assert await stored("/kv/f") == [big]
            assert await put(["s"], io.BytesIO(big[::-1])) == 0
            assert await stored("/kv/s") == [big[::-1]]
            assert await put(["d", "--value-file", "-"], io.BytesIO(b"from stdin")) == 0
            assert await stored("/kv/d") == [b"from stdin"]
            assert await put(["dash", "-"], io.BytesIO(b"unused")) == 0  # VALUE "-" itself
            assert await stored("/kv/dash") == [b"-"]
            capsys.readouterr()
            assert await put(["x", "v", "--value-file", str(tmp_path / "value.bin")],
                             io.BytesIO()) == 1
            assert "not both" in capsys.readouterr().err
            assert await put(["x"], Terminal()) == 1
            assert "no value" in capsys.readouterr().err
            assert await put(["x", "--value-file", str(tmp_path / "absent")], io.BytesIO()) == 1
            err = capsys.readouterr().err
            assert "--value-file" in err and "cannot read" in err and "Traceback" not in err
            status, _, _ = await call("GET", url(node, "/kv/x"))
            assert status == 404  # nothing sent
    run(scenario())


class _Endless(io.RawIOBase):
    """A standard input as good as endless (``yes | vdynamo put k``, ``--value-file
    /dev/zero``): every read gives what it asks for, up to ``end`` bytes in all (so
    that a reader of everything, the mutant, ends); ``given`` counts the bytes."""

    def __init__(self, end: int) -> None:
        self.given = 0
        self.end = end

    def readable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    def readinto(self, buffer: Any) -> int:
        size = min(len(buffer), self.end - self.given)
        buffer[:size] = b"y" * size
        self.given += size
        return size


def test_a_value_read_from_a_file_or_the_standard_input_stops_at_the_clusters_limit(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Session 39's user probe: ``vdynamo put`` read a value from a file or the
    standard input whole before anything else, so an endless input (``--value-file
    /dev/zero``, ``yes | vdynamo put k``) grew the process until it ran out of memory
    (a MemoryError traceback under a 1 GiB address-space limit), and a file over
    ``max_value_bytes`` was read whole to be refused 413. Now it reads at most the
    limit the cluster's ``/status`` states and one byte: a value of exactly the limit
    is stored, a longer one or an endless input is one line naming the limit, exit 1,
    nothing sent."""
    limit = 4096
    (tmp_path / "exact.bin").write_bytes(b"e" * limit)
    (tmp_path / "over.bin").write_bytes(b"o" * (limit + 1))

    async def scenario() -> tuple[int, int, int, list[str]]:
        async with cluster(tmp_path / "c", max_value_bytes=limit) as servers:
            node = servers[0]
            address = str(node.http_address)

            async def put(argv: list[str], stdin: Any) -> int:
                return await asyncio.to_thread(main_put, ["--node", address, *argv], stdin)

            endless = _Endless(256 * limit)
            codes = [await put(["exact", "--value-file", str(tmp_path / "exact.bin")],
                               io.BytesIO()),
                     await put(["over", "--value-file", str(tmp_path / "over.bin")],
                               io.BytesIO()),
                     await put(["endless"], io.BufferedReader(endless))]
            errors = capsys.readouterr().err.splitlines()
            status, _, got = await call("GET", url(node, "/kv/exact"))
            assert status == 200 and [base64.b64decode(v) for v in got["values"]] == [
                b"e" * limit]
            missing = [(await call("GET", url(node, f"/kv/{key}")))[0]
                       for key in ("over", "endless")]
            return codes[0], codes[1], codes[2], [*errors, str(missing), str(endless.given)]

    exact, over, endless, seen = run(scenario())
    *errors, missing, given = seen
    assert (exact, over, endless) == (0, 1, 1)
    assert missing == "[404, 404]"  # nothing sent
    assert int(given) <= limit + 1 + io.DEFAULT_BUFFER_SIZE  # not the machine's memory
    assert len(errors) == 2 and all(
        f"over {limit} bytes, the cluster's max_value_bytes" in line
        and "nothing was sent" in line for line in errors), errors
    assert errors[0].startswith(f"vdynamo put: --value-file {tmp_path / 'over.bin'}: ")
    assert errors[1].startswith("vdynamo put: the standard input: ")


class _Trickle(io.RawIOBase):
    """A raw stream of ``data`` that gives at most ``most`` bytes a read (a pipe's
    reads end at what was written); ``asked``: the sizes each read asked for."""

    def __init__(self, data: bytes, most: int) -> None:
        self.data, self.most, self.asked = data, most, list[int]()

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        self.asked.append(size)
        piece, self.data = self.data[:min(size, self.most)], self.data[min(size, self.most):]
        return piece


def test_a_value_is_read_in_pieces_not_allocated_at_the_limit() -> None:
    """Session 39's review: ``stream.read(limit + 1)`` allocates the limit before
    reading (CPython), so ``echo hi | vdynamo put k`` to a cluster of
    ``max_value_bytes`` 1 GiB (or a node stating no limits) took 1 GiB, a MemoryError
    traceback under a 1 GiB address-space limit; and a raw stream's short read was
    taken for the whole value. Now pieces of at most 1 MiB, read to the stream's end
    or the limit and one byte."""
    from vdynamo import kv_cli

    def client(limits: object) -> Any:
        return type("Client", (), {"status": lambda self: {"limits": limits}})()

    for limits in ({"max_value_bytes": 1 << 30}, None, {"max_value_bytes": True}):
        stream = _Trickle(b"hi", 1 << 30)
        assert kv_cli._read_value(client(limits), stream, "it") == b"hi"  # type: ignore[arg-type]
        assert max(stream.asked) <= 1 << 20, stream.asked  # before: [1073741825]
    value = bytes(range(256)) * 10
    limited = client({"max_value_bytes": len(value)})
    assert kv_cli._read_value(limited, _Trickle(value, 7), "it") == value  # type: ignore[arg-type]
    assert kv_cli._read_value(limited, _Trickle(b"", 7), "it") == b""  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError, match=f"it: the value is over {len(value)} bytes"):
        kv_cli._read_value(limited, _Trickle(value + b"!", 7), "it")  # type: ignore[arg-type]
