"""Hand mutants of the peer-data boundary (issue 12, review findings F3 and F4),
run by hand: each one rewrites a place of impl/ (the old wide try, or a wrong
rule) in a scratch copy of the tracked tree (never the working copy: a run that is
killed leaves nothing behind; session 10 committed a mutant left by one), and runs
tests/impl/test_internal_errors.py, test_membership.py and test_merkle.py there.

    .venv/bin/python -m tests.impl.peer_data_mutants [name ...]

prints, per mutant, the tests that kill it, and exits 1 if one survives. Not
collected by pytest (minutes long). The table of docs/refinement.md ("Our errors
are not bad input") is its output.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: the test files each mutant is run against
FILES = ("tests/impl/test_internal_errors.py", "tests/impl/test_membership.py",
         "tests/impl/test_merkle.py")

#: name -> (file, the real code, the mutant's code)
MUTANTS: dict[str, tuple[str, str, str]] = {
    "view-wide-try": ("impl/gossip.py", '''        try:
            other = Membership.from_bytes(message.view)
            membership.check_peer_versions(other)
            if src in other:
                membership.merge_conflict(self.view, other)
        except BadMessageError as error:
            raise peer_data_error("view", error) from error
        merged = self.view.merge(other) if src in other else None
        if merged is not None:
            merged.ring()  # our merge of two views that do not conflict: a ring
''', '''        try:
            other = Membership.from_bytes(message.view)
            membership.check_peer_versions(other)
            merged = self.view.merge(other) if src in other else None
            if merged is not None:
                merged.ring()
        except BadMessageError as error:
            raise peer_data_error("view", error) from error
'''),
    "view-no-conflict-check": ("impl/gossip.py", '''            if src in other:
                membership.merge_conflict(self.view, other)
''', ''),
    "conflict-by-version-only": (
        "impl/membership.py",
        "        tokens_theirs = member.precedence()[1] > ours.precedence()[1]",
        "        tokens_theirs = member.version > ours.version"),
    "conflict-of-any-status": (
        "impl/membership.py",
        """        if status.status not in ON_RING:
            continue
""", ""),
    "conflict-blames-the-later-entry": (
        "impl/membership.py",
        "            if from_theirs or owner_theirs:",
        "            if from_theirs:"),
    "merkle-wide-try": ("impl/antientropy.py", '''            check(tree.shape, step)
        except BadMessageError as error:
            raise peer_data_error("merkle", error) from error
        answer = compare(tree, step)  # ours: whatever it raises is an internal error
''', '''            check(tree.shape, step)
            answer = compare(tree, step)
        except BadMessageError as error:
            raise peer_data_error("merkle", error) from error
'''),
    "merkle-level-unchecked": (
        "impl/merkle.py",
        """def _check_level(shape: TreeShape, message: Level) -> None:
""",
        """def _check_level(shape: TreeShape, message: Level) -> None:
    return
"""),
    "record-wide-try": ("impl/replica.py", '''        siblings = sibling_count(record)
''', '''        try:
            siblings = sibling_count(record)
        except BadMessageError as error:
            raise peer_data_error("record", error) from error
'''),
    "ack-other-key-is-peer-data": (
        "impl/put_coordinator.py",
        "        if coordination is None or coordination.key != message.key:  # a late ack",
        """        if coordination is not None and coordination.key != message.key:
            raise peer_data_error("ack", BadMessageError("another key"))
        if coordination is None:"""),
    "ack-no-sends-check": (
        "impl/put_coordinator.py",
        "            if wrong is not None:  # our own records",
        "            if False:  # our own records"),
    "ack-late-is-peer-data": (
        "impl/put_coordinator.py",
        "        if coordination is None or coordination.key != message.key:  # a late ack",
        """        if coordination is None:
            raise peer_data_error("ack", BadMessageError("late"))
        if coordination.key != message.key:"""),
}


def _copy_tree(into: Path) -> Path:
    """The git-tracked files of :data:`ROOT` (as they are in the working copy),
    copied under ``into``; the copy's root."""
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True,
                            check=True).stdout.decode().split("\0")
    root = into / "tree"
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, root / name)
    return root


def run(name: str) -> list[str]:
    """The tests of :data:`FILES` that fail on mutant ``name`` (run in a scratch copy)."""
    path, real, mutant = MUTANTS[name]
    text = (ROOT / path).read_text()
    if text.count(real) != 1:
        raise SystemExit(f"{name}: the real code is not in {path} once (stale mutant)")
    with tempfile.TemporaryDirectory(prefix="peer-data-mutant-") as scratch:
        root = _copy_tree(Path(scratch))
        (root / path).write_text(text.replace(real, mutant))
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *FILES],
            cwd=root, capture_output=True, text=True, timeout=600, check=False)
    return [line.split(" ")[1].split("::")[-1] for line in result.stdout.splitlines()
            if line.startswith("FAILED ")]


def main(names: list[str]) -> int:
    survived = 0
    for name in names or list(MUTANTS):
        killed = run(name)
        survived += not killed
        print(f"{name}: {'killed by ' + ', '.join(killed) if killed else 'SURVIVED'}")
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
