"""The initial members a hello carries fit the bound its receiver checks, at every
length (session 30's review of the user probe's ``nodes`` setting).

``impl.runtime.members_text`` sends the names themselves up to 255 characters and
a digest beyond; ``impl.peer_auth.HelloInfo.decode`` refuses a setting of more
than 255 characters. A names list of exactly 256 characters sent as it is would
have every hello of the cluster refused (a mutant of the bound, 256, passed the
session's tests)."""

from __future__ import annotations

import pytest

from impl.config import ClusterConfig
from impl.peer_auth import HelloInfo
from impl.runtime import members_text, shared_settings


@pytest.mark.parametrize("length", [253, 254, 255, 256, 257])
def test_a_hello_of_any_members_length_is_received(length: int) -> None:
    names = [f"node{i:03d}" for i in range((length + 1) // 8)]  # 7 characters and a comma
    names[-1] += "x" * (length - len(",".join(names)))
    assert len(",".join(names)) == length
    config = ClusterConfig(nodes=tuple(names))
    info = HelloInfo("c", settings=shared_settings(config))
    received = dict(HelloInfo.decode(info.encoded()).settings)
    assert received["nodes"] == members_text(config)
    assert (received["nodes"] == ",".join(names)) == (length <= 255)
