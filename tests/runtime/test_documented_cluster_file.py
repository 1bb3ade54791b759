"""The cluster file that docs/runtime.md shows ("A cluster file"), copied as it stands,
is refused by ``vdynamo serve`` for its public secret (session 48's new user's walk:
it was served, its placeholder secret taken as the cluster's own, since the docs'
example changed from ``"change me, at least 16 bytes"``, which
:data:`impl.runtime_config.EXAMPLE_SECRETS` listed, to ``"3f1c...your own, 16 bytes or
more"``, which it did not). Read from the docs, so that the next change of the example
is checked too."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from impl.errors import ConfigError
from impl.runtime_config import load_runtime_config
from tests.runtime.procs import ROOT, cli


def _documented_file() -> str:
    text = (ROOT / "docs" / "runtime.md").read_text()
    found = re.search(r"```toml\n(# cluster\.toml\n.*?)```", text, re.DOTALL)
    assert found is not None, "docs/runtime.md has no '# cluster.toml' example"
    return found.group(1)


def test_the_documented_cluster_file_is_refused_for_its_secret(tmp_path: Path) -> None:
    path = tmp_path / "cluster.toml"
    path.write_text(_documented_file())
    path.chmod(0o600)
    assert load_runtime_config(path).cluster.nodes == ("n1", "n2", "n3")  # it loads
    with pytest.raises(ConfigError, match="the example secret is public"):
        load_runtime_config(path, insecure_dev=False)
    result = cli("serve", str(path), "--all")  # refused before anything binds
    assert result.returncode == 2
    assert result.stderr == ("vdynamo serve: [cluster] secret: the example secret is "
                             "public; set your own (or run with --insecure-dev)\n")
