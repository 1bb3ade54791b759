"""vdynamo: Amazon's Dynamo as a verified system.

The public face of the four layers::

    import vdynamo

    # the spec and the model checker
    config = vdynamo.load_config("model_check/configs/sloppy-crash.toml")
    result = vdynamo.check(config)

    # the implementation, in the deterministic simulator
    cluster = vdynamo.SimulatedCluster(nodes=5, n=3, r=2, w=2, seed=7)
    client = cluster.client()
    got = client.get(b"cart")
    client.put(b"cart", b"milk,eggs", context=got.context)

    # a real cluster over HTTP (vdynamo.client)
    with vdynamo.connect(["127.0.0.1:8001"]) as db:
        db.put("cart", b"milk")

Errors: every error the package raises on purpose is a :class:`DynamoError`;
:class:`LocalError` when the caller's input was wrong (a :class:`ConfigError`
for any configuration, a bad trace, an unknown property), :class:`RemoteError`
when the cluster could not do what was asked (e.g. :class:`QuorumError`).

Command line: ``vdynamo check | compile | replay | prove | ring | show | serve | cluster | get |
put | join | leave``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from impl import Client as Client
    from impl import Faults as Faults
    from impl import GetResult as GetResult
    from impl import PutResult as PutResult
    from impl import QuorumError as QuorumError
    from impl import SimulatedCluster as SimulatedCluster
    from impl.config import ClusterConfig as ClusterConfig
    from impl.local_cluster import LocalCluster as LocalCluster
    from model_check import PROPERTIES as PROPERTIES
    from model_check import CheckResult as CheckResult
    from model_check import Trace as Trace
    from model_check import check as check
    from model_check import replay_on_spec as replay_on_spec
    from spec.config import Config as Config
    from spec.config import load_config as load_config
    from spec.dvv import DVVSet as DVVSet
    from spec.errors import ConfigError as ConfigError
    from spec.errors import DynamoError as DynamoError
    from spec.errors import LocalError as LocalError
    from spec.errors import RemoteError as RemoteError
    from spec.ring import Ring as Ring
    from spec.ring import key_position as key_position
    from spec.vclock import Order as Order
    from spec.vclock import VClock as VClock
    from spec.vclock import Version as Version
    from spec.vclock import reconcile as reconcile
    from vdynamo.client import AsyncClient as AsyncClient
    from vdynamo.client import Fetched as Fetched
    from vdynamo.client import NoNodeError as NoNodeError
    from vdynamo.client import OutcomeUnknownError as OutcomeUnknownError
    from vdynamo.client import RequestRefusedError as RequestRefusedError
    from vdynamo.client import connect as connect
    from vdynamo.client import connect_async as connect_async

# name -> the module that defines it; imported on first use (PEP 562), so that a
# process that needs one layer (a node: `vdynamo serve`) does not import the others
# (httpx, numpy, the model checker): about 0.5 CPU-s per process start.
_EXPORTS: dict[str, str] = {
    "Client": "impl",
    "Faults": "impl",
    "GetResult": "impl",
    "PutResult": "impl",
    "QuorumError": "impl",
    "SimulatedCluster": "impl",
    "ClusterConfig": "impl.config",
    "LocalCluster": "impl.local_cluster",
    "PROPERTIES": "model_check",
    "CheckResult": "model_check",
    "Trace": "model_check",
    "check": "model_check",
    "replay_on_spec": "model_check",
    "Config": "spec.config",
    "load_config": "spec.config",
    "DVVSet": "spec.dvv",
    "ConfigError": "spec.errors",
    "DynamoError": "spec.errors",
    "LocalError": "spec.errors",
    "RemoteError": "spec.errors",
    "Ring": "spec.ring",
    "key_position": "spec.ring",
    "Order": "spec.vclock",
    "VClock": "spec.vclock",
    "Version": "spec.vclock",
    "reconcile": "spec.vclock",
    "AsyncClient": "vdynamo.client",
    "Fetched": "vdynamo.client",
    "NoNodeError": "vdynamo.client",
    "OutcomeUnknownError": "vdynamo.client",
    "RequestRefusedError": "vdynamo.client",
    "connect": "vdynamo.client",
    "connect_async": "vdynamo.client",
}


__version__ = "0.1.0"

__all__ = [
    "PROPERTIES",
    "AsyncClient",
    "CheckResult",
    "Client",
    "ClusterConfig",
    "Config",
    "ConfigError",
    "DVVSet",
    "DynamoError",
    "Faults",
    "Fetched",
    "GetResult",
    "LocalCluster",
    "LocalError",
    "NoNodeError",
    "Order",
    "OutcomeUnknownError",
    "PutResult",
    "QuorumError",
    "RemoteError",
    "RequestRefusedError",
    "Ring",
    "SimulatedCluster",
    "Trace",
    "VClock",
    "Version",
    "check",
    "connect",
    "connect_async",
    "key_position",
    "load_config",
    "reconcile",
    "replay_on_spec",
]


def __getattr__(name: str) -> object:
    """The export ``name``, imported from its module on first use (PEP 562).

    Raises:
        AttributeError: ``name`` is not one of ``__all__``.
    """
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'vdynamo' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
