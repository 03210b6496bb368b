"""review.chain over plain data: the chain values, their JSON snapshot, which chain is in force,
and what a valid chain configuration is. No database, no app."""

from __future__ import annotations

import dataclasses
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from review.chain import (
    DEFAULT_STEPS,
    MAX_LEVELS_UP,
    MAX_STEPS,
    QUORUMS,
    STEP_ROLES,
    Chain,
    InvalidChain,
    Person,
    Step,
    UnitRef,
    in_force,
    may_be_named,
    named_usernames,
    parse_steps,
)

ids = st.integers(min_value=1, max_value=10_000)
names = st.text(min_size=1, max_size=20)
sources = st.dictionaries(st.sampled_from(["chain_id", "unit", "category", "version"]),
                          st.one_of(ids, st.text(max_size=8)), max_size=4)
steps = st.builds(
    Step, name=names, role=st.sampled_from(STEP_ROLES), unit_levels_up=st.integers(0, MAX_LEVELS_UP),
    users=st.lists(ids, max_size=4).map(tuple), quorum=st.sampled_from(QUORUMS),
    unit_id=st.none() | ids, unit_code=st.text(max_size=8), user_names=st.lists(names, max_size=3).map(tuple),
    source=sources, required=st.lists(ids, max_size=3).map(tuple),
    # A unit code goes with a named unit only (the snapshot keeps it only then).
).map(lambda s: s if s.unit_id is not None else dataclasses.replace(s, unit_code=""))
chains = st.lists(steps, min_size=1, max_size=MAX_STEPS).map(lambda s: Chain(tuple(s)))
# A unit and its ancestors, the unit first: distinct ids.
paths = st.lists(ids, min_size=1, max_size=8, unique=True).map(tuple)


# -- values and their snapshot ------------------------------------------------------------------
@given(chains)
def test_snapshot_round_trips_through_json(chain):
    """A post keeps its chain as JSON: what is stored reads back as the same chain."""
    stored = json.loads(json.dumps(chain.to_json()))
    assert Chain.from_json(stored) == chain
    assert Chain.from_json(stored).to_json() == stored


def test_snapshot_shape_is_stable():
    """The stored shape of a plain step (what posts in review already carry) does not change."""
    assert Step("初审").to_json() == {"name": "初审", "role": "reviewer", "unit_levels_up": 0, "users": [],
                                      "quorum": "any"}
    full = Step("终审", role="supervisor", users=(7, 3), quorum="all", unit_id=2, unit_code="hlbe",
                user_names=("a", "b"), source={"chain_id": 1}, required=(3, 7))
    assert full.to_json() == {"name": "终审", "role": "supervisor", "unit_levels_up": 0, "users": [7, 3],
                              "quorum": "all", "unit_id": 2, "unit_code": "hlbe", "user_names": ["a", "b"],
                              "source": {"chain_id": 1}, "required": [3, 7]}
    assert Step.from_json({"name": "初审"}) == Step("初审")
    assert Step.from_json({"name": "x", "users": ["5"], "required": ["9"], "unit_levels_up": "2"}) == Step(
        "x", users=(5,), required=(9,), unit_levels_up=2)


def test_values_are_immutable():
    src = {"chain_id": 1}
    users = [1, 2]
    step = Step("初审", users=users, source=src)
    chain = Chain([step])
    with pytest.raises(dataclasses.FrozenInstanceError):
        step.name = "复审"
    with pytest.raises(dataclasses.FrozenInstanceError):
        chain.steps = ()
    with pytest.raises(TypeError):
        step.source["chain_id"] = 2
    # Changing what the value was built from does not change the value.
    src["chain_id"], users[0] = 99, 99
    assert step.source == {"chain_id": 1} and step.users == (1, 2)
    assert isinstance(chain.steps, tuple)
    assert hash(step) == hash(Step("初审", users=(1, 2), source={"chain_id": 5}))


def test_default_chain_is_three_reviews_by_the_units_reviewers():
    chain = Chain.default()
    assert [s.name for s in chain.steps] == list(DEFAULT_STEPS) == ["初审", "复审", "终审"]
    assert all(s.role == "reviewer" and s.unit_levels_up == 0 and s.unit_id is None and not s.users
               and s.quorum == "any" and not s.needs_everyone for s in chain.steps)


@given(chains, sources)
def test_with_source_marks_every_step_and_keeps_the_rest(chain, source):
    marked = chain.with_source(source)
    assert all(s.source == source for s in marked.steps)
    assert [dataclasses.replace(s, source={}) for s in marked.steps] == [
        dataclasses.replace(s, source={}) for s in chain.steps]


@given(chains, st.integers(-3, MAX_STEPS + 3))
def test_step_at(chain, index):
    expected = chain.steps[index] if 0 <= index < len(chain.steps) else None
    assert chain.step_at(index) == expected


# -- whose role counts ---------------------------------------------------------------------------
@given(paths, st.integers(0, 12))
def test_relative_step_targets_the_unit_that_many_levels_up(path, levels):
    target = Step("x", unit_levels_up=levels).target_unit(path)
    assert target == (path[levels] if levels < len(path) else None)


@given(paths, ids)
def test_named_unit_counts_only_on_the_posts_path(path, unit_id):
    target = Step("x", unit_id=unit_id, unit_levels_up=3).target_unit(path)
    assert target == (unit_id if unit_id in path else None)


def test_negative_levels_never_climb():
    assert Step("x", unit_levels_up=-1).target_unit((1, 2, 3)) == 1


# -- the chain in force --------------------------------------------------------------------------
categories = st.sampled_from(["", "政策文件", "通知公告"])


@given(paths, st.sets(st.tuples(ids, categories), max_size=12), categories, st.data())
def test_in_force_is_the_nearest_chain_of_the_category_then_the_nearest_general_one(path, extra, category, data):
    # Some chains on the path, some elsewhere in the tree.
    on_path = data.draw(st.sets(st.tuples(st.sampled_from(path), categories), max_size=8))
    defined = on_path | extra
    got = in_force(path, defined, category)
    relevant = [(u, c) for c in ([category] if category else []) + [""] for u in path if (u, c) in defined]
    if not relevant:
        assert got is None  # the default 三审
        return
    assert got in defined and got[0] in path
    unit, cat = got
    assert cat in (category, "")
    if cat == "" and category:
        assert not any((u, category) in defined for u in path), "a category chain on the path beats any general one"
    nearer = path[:path.index(unit)]
    assert not any((u, cat) in defined for u in nearer), "the nearest unit wins"


def test_in_force_examples():
    path = (3, 2, 1)  # banner 3 under league 2 under region 1
    assert in_force(path, set()) is None
    assert in_force(path, {(1, "")}) == (1, "")
    assert in_force(path, {(1, ""), (2, "")}) == (2, "")
    # A category chain of the region beats the banner's own general chain for that category.
    assert in_force(path, {(3, ""), (1, "政策文件")}, "政策文件") == (1, "政策文件")
    assert in_force(path, {(3, ""), (1, "政策文件")}, "通知公告") == (3, "")
    assert in_force(path, {(9, "")}) is None  # not on the path
    # A post without a category never picks a category chain.
    assert in_force(path, {(3, "政策文件")}) is None


# -- configuration -------------------------------------------------------------------------------
BANNER, LEAGUE, REGION = UnitRef(3, "cbeh"), UnitRef(2, "hlbe"), UnitRef(1, "nmg")
PATH = (BANNER, LEAGUE, REGION)
ALLOWED = {1, 2, 3, 4}  # the path and one unit below the banner
PEOPLE = {
    "r1": Person(11, grants=frozenset({("reviewer", 3)}), unit_id=3),
    "r2": Person(12, grants=frozenset({("reviewer", 3)}), unit_id=3),
    "chief": Person(13, grants=frozenset({("supervisor", 2)}), unit_id=2),
    "below": Person(14, grants=frozenset({("admin", 4)}), unit_id=4),
    "editor": Person(15, grants=frozenset({("editor", 3)}), unit_id=3),
    "elsewhere": Person(16, grants=frozenset({("reviewer", 8)}), unit_id=8),
}


def _parse(raw):
    return parse_steps(raw, unit_path=PATH, allowed_user_units=ALLOWED, people=PEOPLE)


@pytest.mark.parametrize("raw, code, step", [
    ([], "invalid_steps", None),
    ("初审", "invalid_steps", None),
    (None, "invalid_steps", None),
    ([{"name": f"s{i}"} for i in range(MAX_STEPS + 1)], "too_many_steps", None),
    (["初审"], "invalid_step", 1),
    ([{"name": "初审"}, {"name": "复审", "colour": "red"}], "invalid_step", 2),
    ([{"name": ""}], "invalid_step_name", 1),
    ([{"name": "   "}], "invalid_step_name", 1),
    ([{"name": "长" * 21}], "invalid_step_name", 1),
    ([{"name": 7}], "invalid_step_name", 1),
    ([{"name": "初审"}, {"name": " 初审 "}], "duplicate_step_name", 2),
    ([{"name": "初审", "quorum": "most"}], "invalid_quorum", 1),
    ([{"name": "初审", "role": "editor"}], "invalid_step_role", 1),
    ([{"name": "初审", "users": "r1"}], "invalid_step_users", 1),
    ([{"name": "初审", "users": ["r1", ""]}], "invalid_step_users", 1),
    ([{"name": "初审", "users": ["nobody"]}], "unknown_step_users", 1),
    ([{"name": "初审", "users": ["editor"]}], "ineligible_step_user", 1),
    ([{"name": "初审", "users": ["elsewhere"]}], "ineligible_step_user", 1),
    ([{"name": "初审", "unit": "other"}], "invalid_step_unit", 1),
    ([{"name": "初审", "unit": "hlbe", "levels_up": 1}], "invalid_step_unit", 1),
    ([{"name": "初审", "unit": 5}], "invalid_step_unit", 1),
    ([{"name": "初审", "levels_up": -1}], "invalid_step_unit", 1),
    ([{"name": "初审", "levels_up": MAX_LEVELS_UP + 1}], "invalid_step_unit", 1),
    ([{"name": "初审", "levels_up": True}], "invalid_step_unit", 1),
    ([{"name": "初审", "levels_up": "1"}], "invalid_step_unit", 1),
])
def test_bad_configurations_name_the_first_problem(raw, code, step):
    with pytest.raises(InvalidChain) as exc:
        _parse(raw)
    assert exc.value.code == code
    assert exc.value.details == ({} if step is None else {"step": step})
    assert exc.value.message


def test_a_good_configuration_becomes_a_chain():
    chain = _parse([
        {"name": " 初审 ", "who": "本单位审核人（任一人）"},  # "who" is what the API shows; it is accepted back
        {"name": "联审", "users": ["r2", "r1", "r2"], "quorum": "all"},
        {"name": "复审", "role": "supervisor", "levels_up": 1},
        {"name": "终审", "role": "admin", "unit": "nmg", "levels_up": 0},
        {"name": "核发", "users": ["below", "chief"], "unit": "ignored", "levels_up": 9},
    ])
    assert chain == Chain((
        Step("初审"),
        Step("联审", users=(12, 11), user_names=("r2", "r1"), quorum="all"),
        Step("复审", role="supervisor", unit_levels_up=1),
        Step("终审", role="admin", unit_id=1, unit_code="nmg"),
        Step("核发", users=(14, 13), user_names=("below", "chief")),
    ))


@given(st.lists(st.fixed_dictionaries({"name": st.text(min_size=1, max_size=20).filter(lambda n: n.strip())},
                                      optional={"quorum": st.sampled_from(QUORUMS),
                                                "role": st.sampled_from(STEP_ROLES),
                                                "levels_up": st.integers(0, MAX_LEVELS_UP),
                                                "users": st.lists(st.sampled_from(["r1", "r2", "chief", "below"]),
                                                                  max_size=3)}),
                min_size=1, max_size=MAX_STEPS, unique_by=lambda d: d["name"].strip()))
def test_every_valid_configuration_parses_in_order(raw):
    chain = _parse(raw)
    assert [s.name for s in chain.steps] == [d["name"].strip() for d in raw]
    for d, s in zip(raw, chain.steps, strict=True):
        assert s.quorum == d.get("quorum", "any") and s.role == d.get("role", "reviewer")
        if d.get("users"):
            assert s.user_names == tuple(dict.fromkeys(d["users"]))
            assert s.users == tuple(PEOPLE[n].id for n in s.user_names)
            assert s.unit_levels_up == 0
        else:
            assert not s.users and s.unit_levels_up == d.get("levels_up", 0)
    assert Chain.from_json(chain.to_json()) == chain


def test_who_may_be_named_in_a_step():
    assert may_be_named(PEOPLE["r1"], ALLOWED)
    assert may_be_named(PEOPLE["below"], ALLOWED)  # a unit below: an admin there may be named
    assert not may_be_named(PEOPLE["editor"], ALLOWED)  # no step role
    assert not may_be_named(PEOPLE["elsewhere"], ALLOWED)  # outside the path and the subtree
    assert not may_be_named(Person(20, grants=frozenset({("reviewer", 3)}), unit_id=None), ALLOWED)


def test_named_usernames_collects_only_what_could_be_a_username():
    assert named_usernames([{"name": "a", "users": ["r1", "", 3, "r2"]}, {"users": "r3"}, "x", {"users": ["r1"]}]) \
        == {"r1", "r2"}
    assert named_usernames("r1") == set()
    assert named_usernames([{"users": ["r1"]}] * (MAX_STEPS + 1)) == set()  # refused before any look-up
