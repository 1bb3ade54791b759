"""The packages' public names are imported on first use (PEP 562), so a node starts light.

``vdynamo`` and ``impl`` re-export names from every layer (the simulator, the HTTP
client, the model checker). Imported eagerly, a `vdynamo serve` or `vdynamo get`
process paid about 1.1 CPU-s to start (httpx, numpy, the explorer); lazily, about 0.55
(session 19, medians of five `vdynamo serve --help` runs; docs/runtime.md).
"""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import impl
import vdynamo


@pytest.mark.parametrize("package", [impl, vdynamo], ids=lambda p: p.__name__)
def test_every_export_resolves_to_its_defining_module_object(package: object) -> None:
    exports = package._EXPORTS  # type: ignore[attr-defined]
    assert sorted(exports) == sorted(package.__all__)  # type: ignore[attr-defined]
    for name, module in exports.items():
        assert getattr(package, name) is getattr(importlib.import_module(module), name)
        assert name in dir(package)


def test_an_unknown_name_is_an_attribute_error_naming_it() -> None:
    with pytest.raises(AttributeError, match="'nonexistent'"):
        vdynamo.nonexistent  # type: ignore[attr-defined]  # noqa: B018
    with pytest.raises(ImportError):
        from impl import nonexistent  # type: ignore[attr-defined]  # noqa: F401


def test_a_node_process_does_not_import_the_checker_or_the_http_client() -> None:
    probe = (
        "import sys, vdynamo.cli, impl.serve;"
        "print(sorted(m for m in ('model_check', 'httpx', 'numpy', 'impl.simulator',"
        " 'impl.local_cluster') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]", out.stdout
