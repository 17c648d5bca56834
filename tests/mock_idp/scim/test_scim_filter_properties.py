"""Property checks: any user name or display name survives the filter languages' quoting."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis_profiles import examples

from mock_idp.graph.odata_filter import compile_filter as compile_odata
from mock_idp.scim.filter import compile_filter as compile_scim
from mock_idp.scim.schemas import USERS

names = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=30)


@settings(max_examples=examples(200), deadline=None)
@given(name=names, other=names)
def test_scim_string_literals_round_trip(name: str, other: str) -> None:
    literal = json.dumps(name, ensure_ascii=False)
    predicate = compile_scim(f"userName eq {literal} and not (displayName eq {json.dumps(other)})", USERS)
    resource = {"userName": name, "displayName": other + "x"}
    assert predicate(resource)
    assert predicate({"userName": name.upper(), "displayName": other + "x"}) == (
        name.upper().lower() == name.lower()
    )
    assert not predicate({"userName": name + "x", "displayName": other + "x"})


@settings(max_examples=examples(200), deadline=None)
@given(name=names)
def test_odata_string_literals_round_trip(name: str) -> None:
    literal = "'" + name.replace("'", "''") + "'"
    predicate = compile_odata(
        f"displayName eq {literal} or startswith(displayName,{literal})", {"displayName": str}
    )
    assert predicate(name)
    assert predicate(name + "tail")
    assert not predicate("x" + name) or ("x" + name).lower().startswith(name.lower())
