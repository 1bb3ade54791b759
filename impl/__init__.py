"""Production Dynamo node: sans-IO core, storage engines, deterministic simulator.

The library surface::

    import impl
    cluster = impl.SimulatedCluster(nodes=5, n=3, r=2, w=2, seed=7)
    client = cluster.client()
    got = client.get(b"cart")
    client.put(b"cart", b"milk,eggs", context=got.context)

    # real nodes on loopback, in this process (HTTP; impl.http_client)
    async with impl.LocalCluster(nodes=3, n=3, r=2, w=2) as cluster:
        await cluster.client().put("cart", b"milk")
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from impl.cluster import Client as Client
    from impl.cluster import SimulatedCluster as SimulatedCluster
    from impl.effects import GetResult as GetResult
    from impl.effects import PutResult as PutResult
    from impl.errors import BadContextError as BadContextError
    from impl.errors import BadMessageError as BadMessageError
    from impl.errors import BadRequestError as BadRequestError
    from impl.errors import ConfigError as ConfigError
    from impl.errors import DynamoError as DynamoError
    from impl.errors import LocalError as LocalError
    from impl.errors import NodeDownError as NodeDownError
    from impl.errors import QuorumError as QuorumError
    from impl.errors import RemoteError as RemoteError
    from impl.errors import RequestTimeoutError as RequestTimeoutError
    from impl.errors import StorageError as StorageError
    from impl.errors import TooLargeError as TooLargeError
    from impl.errors import UnknownNodeError as UnknownNodeError
    from impl.local_cluster import LocalCluster as LocalCluster
    from impl.simulator import Delay as Delay
    from impl.simulator import Faults as Faults
    from impl.simulator import Pending as Pending
    from impl.simulator import SimulationError as SimulationError

# name -> the module that defines it; imported on first use (PEP 562), so that a
# process that needs one layer (a node: `vdynamo serve`) does not import the others
# (httpx, numpy, the model checker): about 0.5 CPU-s per process start.
_EXPORTS: dict[str, str] = {
    "Client": "impl.cluster",
    "SimulatedCluster": "impl.cluster",
    "GetResult": "impl.effects",
    "PutResult": "impl.effects",
    "BadContextError": "impl.errors",
    "BadMessageError": "impl.errors",
    "BadRequestError": "impl.errors",
    "ConfigError": "impl.errors",
    "DynamoError": "impl.errors",
    "LocalError": "impl.errors",
    "NodeDownError": "impl.errors",
    "QuorumError": "impl.errors",
    "RemoteError": "impl.errors",
    "RequestTimeoutError": "impl.errors",
    "StorageError": "impl.errors",
    "TooLargeError": "impl.errors",
    "UnknownNodeError": "impl.errors",
    "LocalCluster": "impl.local_cluster",
    "Delay": "impl.simulator",
    "Faults": "impl.simulator",
    "Pending": "impl.simulator",
    "SimulationError": "impl.simulator",
}


__all__ = [
    "BadContextError",
    "BadMessageError",
    "BadRequestError",
    "Client",
    "ConfigError",
    "Delay",
    "DynamoError",
    "Faults",
    "GetResult",
    "LocalCluster",
    "LocalError",
    "NodeDownError",
    "Pending",
    "PutResult",
    "QuorumError",
    "RemoteError",
    "RequestTimeoutError",
    "SimulatedCluster",
    "SimulationError",
    "StorageError",
    "TooLargeError",
    "UnknownNodeError",
]


def __getattr__(name: str) -> object:
    """The export ``name``, imported from its module on first use (PEP 562).

    Raises:
        AttributeError: ``name`` is not one of ``__all__``.
    """
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'impl' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
