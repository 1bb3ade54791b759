"""impl.http_conditions without a node: the entity tags of a get's state and the
reading and evaluation of If-Match and If-None-Match (RFC 9110 8.8.3, 13.1.1,
13.1.2, 13.2.2). Session 49. Mutants (each checked failing): the context left out
of the digest; the values not sorted; the JSON tag equal to the raw one; a weak
tag matching If-Match; If-None-Match compared strongly; an unquoted tag read."""

from __future__ import annotations

import sys
from types import FrameType

import pytest

from impl.effects import GetResult
from impl.errors import BadRequestError
from impl.http_conditions import Preconditions, entity_tags
from impl.http_values import multipart

STATE = GetResult([b"a", b"b"], b"context-1")


def _conditions(**fields: str) -> Preconditions:
    headers = {name.replace("_", "-").lower().encode(): value.encode()
               for name, value in fields.items()}
    found = Preconditions.of(headers)
    assert found is not None
    return found


def test_the_tags_name_the_state_and_the_representation() -> None:
    raw, as_json = entity_tags(STATE)
    assert raw.startswith('"') and raw.endswith('"') and as_json == raw[:-1] + '-json"'
    assert entity_tags(GetResult([b"b", b"a"], b"context-1")) == (raw, as_json)  # one set
    assert entity_tags(GetResult([b"a", b"b"], b"context-2"))[0] != raw  # a new write
    assert entity_tags(GetResult([b"a"], b"context-1"))[0] != raw
    assert entity_tags(GetResult([b"ab"], b"context-1"))[0] != entity_tags(
        GetResult([b"a", b"b"], b"context-1"))[0]  # lengths are part of the digest


def test_a_300_is_the_same_bytes_at_every_read_of_one_state() -> None:
    assert multipart([b"a", b"b"]) == multipart([b"a", b"b"])
    assert multipart([b"a", b"b"])[0] != multipart([b"a", b"c"])[0]


@pytest.mark.parametrize("value", ["abc", "", " , ", '*, "x"', 'w/"x"', '"x" "y"', '"a b"',
                                   'W/W/"x"', '"x'])
def test_a_malformed_precondition_is_refused_naming_it(value: str) -> None:
    with pytest.raises(BadRequestError, match="If-None-Match"):
        Preconditions.of({b"if-none-match": value.encode()})


def _calls_to_read(raw: bytes) -> int:
    """The C functions called (``sys.setprofile``'s c_call events) while reading
    ``raw`` as an If-Match: a count of work that no machine's speed changes."""
    made = 0

    def profile(frame: FrameType, event: str, arg: object) -> None:
        nonlocal made
        made += event == "c_call"

    sys.setprofile(profile)
    try:
        Preconditions.of({b"if-match": raw})
    except BadRequestError:
        pass
    finally:
        sys.setprofile(None)
    return made


@pytest.mark.parametrize("padding", [b" ", b"\t", b",", b", "])
@pytest.mark.parametrize("end", [b'"y"', b"y"])
def test_the_work_of_reading_a_list_does_not_grow_with_its_padding(
        padding: bytes, end: bytes) -> None:
    """Whitespace and empty elements between tags (RFC 9110 5.6.1 lets a list
    have them) are read once: the same calls for 20 bytes of them as for 2,000.
    Session 49's review: each padding byte re-ran the tag's regex over the rest
    of the field and copied it, quadratic in the field: an If-Match of '"x",',
    20,000 spaces and 'y' (a 20 KB header, under the 64 KiB limit) held a node's
    loop 14.5 s (its /health waited as long), 60,000 spaces cost 55 CPU-s. Mutant
    (checked failing): the byte-by-byte skip of session 49's parser."""
    def field(count: int) -> bytes:
        return b'"x",' + padding * count + end

    assert _calls_to_read(field(2_000)) == _calls_to_read(field(20))


def test_a_tag_may_hold_a_comma() -> None:
    """etagc includes ``,`` (RFC 9110 8.8.3): a list is not split on commas."""
    found = _conditions(if_match='"a,b" , "c"')
    assert found.read_status('"a,b"') is None and found.read_status('"c"') is None
    assert found.read_status('"a"') == (412, "If-Match")


def test_absent_fields_are_no_preconditions() -> None:
    assert Preconditions.of({b"accept": b"*/*"}) is None


def test_a_get_compares_if_match_strongly_and_if_none_match_weakly() -> None:
    raw, as_json = entity_tags(STATE)
    assert _conditions(if_match=raw).read_status(raw) is None
    assert _conditions(if_match=f'"x", {raw}').read_status(raw) is None
    assert _conditions(if_match=f"W/{raw}").read_status(raw) == (412, "If-Match")
    assert _conditions(if_match=as_json).read_status(raw) == (412, "If-Match")
    assert _conditions(if_match="*").read_status(raw) is None
    assert _conditions(if_none_match=f"W/{raw}").read_status(raw) == (304, "If-None-Match")
    assert _conditions(if_none_match=" ,, " + raw + " ,").read_status(raw) == (
        304, "If-None-Match")
    assert _conditions(if_none_match="*").read_status(raw) == (304, "If-None-Match")
    assert _conditions(if_none_match=as_json).read_status(raw) is None
    # both read: a true If-Match, then If-None-Match (session 49's review: the
    # mutant dropping If-None-Match beside an If-Match lived)
    assert _conditions(if_match=raw, if_none_match=raw).read_status(raw) == (
        304, "If-None-Match")
    assert _conditions(if_match=raw, if_none_match=raw).write_failure(STATE) == (
        "If-None-Match")
    # If-Match first (RFC 9110 13.2.2): a false one is 412 whatever If-None-Match says
    assert _conditions(if_match='"x"', if_none_match=raw).read_status(raw) == (
        412, "If-Match")


def test_a_write_is_judged_on_either_representation_and_on_absence() -> None:
    raw, as_json = entity_tags(STATE)
    absent = GetResult([], b"tombstones")
    for tag in (raw, as_json):
        assert _conditions(if_match=tag).write_failure(STATE) is None
        assert _conditions(if_none_match=tag).write_failure(STATE) == "If-None-Match"
    assert _conditions(if_match=f"W/{raw}").write_failure(STATE) == "If-Match"
    # If-None-Match compares weakly on a write too (RFC 9110 13.1.2; session 49's
    # review: the mutant comparing it strongly there lived)
    assert _conditions(if_none_match=f"W/{as_json}").write_failure(STATE) == "If-None-Match"
    assert _conditions(if_none_match="*").write_failure(STATE) == "If-None-Match"
    assert _conditions(if_none_match="*").write_failure(absent) is None
    assert _conditions(if_match="*").write_failure(absent) == "If-Match"
    assert _conditions(if_match=raw).write_failure(absent) == "If-Match"


def test_only_an_if_match_of_tags_names_the_state() -> None:
    """The state a put without a context replaces (Preconditions.named): the one an
    If-Match tag matched, not '*' nor what an If-None-Match holds on."""
    raw, as_json = entity_tags(STATE)
    assert _conditions(if_match=raw).named(STATE)
    assert _conditions(if_match=f'"x", {as_json}', if_none_match='"y"').named(STATE)
    assert not _conditions(if_match="*").named(STATE)
    assert not _conditions(if_none_match='"x"').named(STATE)
    assert not _conditions(if_match=f"W/{raw}").named(STATE)
    assert not _conditions(if_match=raw).named(GetResult([], b"tombstones"))
