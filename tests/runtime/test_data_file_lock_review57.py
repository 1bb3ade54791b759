"""The data file's lock after a SIGKILL (session 57's review of ``lock_data_file``).

A node killed with SIGKILL must not keep its data file held: a restart right after
it (a supervisor's, ``vdynamo cluster up``'s) must find the file free, also when the
killed process is not yet reaped (a zombie) and when it had started a child process
that outlives it (the kernel releases a ``flock`` when the last descriptor of its
open file description closes; a child exec'd with the descriptor inherited would
keep it, which ``O_CLOEXEC`` prevents).

Mutant, run and seen failing: ``lock_data_file``'s descriptors made inheritable
(``os.set_inheritable(fd, True)`` after each ``os.open``): the holder's child keeps
both locks and the relock raises StorageError "in use by another process" for the
whole 5 s ("still held 5 s after SIGKILL"). Dropping ``O_CLOEXEC`` alone does not
fail it: Python opens descriptors non-inheritable anyway (PEP 446). Real
processes, no sockets: about 0.4 CPU-s here, bounded by a 5 s deadline per wait.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from impl import errors
from impl.serve import lock_data_file

_HOLDER = """
import os, subprocess, sys, time
from pathlib import Path
from impl.serve import lock_data_file
lock_data_file(Path(sys.argv[1]))
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"],
                         close_fds=False)
print(child.pid, flush=True)
time.sleep(30)
"""


def test_a_sigkilled_holder_releases_the_data_file_at_once(tmp_path: Path) -> None:
    data = tmp_path / "n1.sqlite"
    root = str(Path(__file__).resolve().parents[2])
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, str(data)], cwd=root,
                              stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": root})
    child = 0
    try:
        assert holder.stdout is not None
        child = int(holder.stdout.readline())  # locked, and its child started
        try:
            lock_data_file(data)
            raise AssertionError("the running holder's lock was not seen")
        except errors.StorageError:
            pass
        os.kill(holder.pid, signal.SIGKILL)  # not reaped yet: a zombie for a while
        deadline = time.monotonic() + 5.0
        while True:
            try:
                fds = lock_data_file(data)
                break
            except errors.StorageError:
                assert time.monotonic() < deadline, "still held 5 s after SIGKILL"
                time.sleep(0.01)
        for fd in fds:
            os.close(fd)
    finally:
        for pid in (holder.pid, child):
            if pid:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        holder.wait(10)
        if holder.stdout is not None:
            holder.stdout.close()
