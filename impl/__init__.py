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
