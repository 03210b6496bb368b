"""review.policy over plain data: whom a step names, separation of duties, the order in which a
decision is refused, quorum, the review queue and the validity of an approval set.

The simulation at the end ties the rules together: whatever sequence of approvals the decision
rule lets through, a finished chain is a valid approval set for the worker, an unfinished one is
not, and breaking any single approval of a valid set makes it invalid."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from review.chain import Chain, Person, Step
from review.policy import (
    CONFIRMATION_KEYS,
    Decision,
    Refusal,
    approval_set_problem,
    awaits_decision,
    candidates,
    eligible_for_step,
    named_anywhere,
    named_by,
    names_final_step,
    refusal_to_decide,
    requested_step,
    step_progress,
    unconfirmed,
)

BANNER, LEAGUE, REGION = 3, 2, 1
PATH = (BANNER, LEAGUE, REGION)  # the post's unit first
ALL = dict.fromkeys(CONFIRMATION_KEYS, True)
HASH = "a" * 64


def reviewer(uid: int, unit: int = BANNER, role: str = "reviewer", active: bool = True) -> Person:
    return Person(uid, active=active, grants=frozenset({(role, unit)}), unit_id=unit)


def approval(uid: int, step: int, **kw) -> Decision:
    return Decision(reviewer_id=uid, step=step, step_name=f"s{step}", revision_hash=HASH, confirmations=ALL, **kw)


# -- whom a step names ---------------------------------------------------------------------------
def test_a_role_step_names_holders_of_the_role_in_the_target_unit_only():
    step = Step("复审", role="supervisor", unit_levels_up=1)
    assert named_by(step, reviewer(1, LEAGUE, "supervisor"), PATH)
    assert not named_by(step, reviewer(1, BANNER, "supervisor"), PATH)  # the post's own unit: wrong level
    assert not named_by(step, reviewer(1, LEAGUE, "reviewer"), PATH)  # the wrong role
    assert not named_by(Step("x", unit_levels_up=3), reviewer(1, REGION), PATH)  # above the root: nobody
    assert named_by(Step("x", unit_id=REGION, unit_code="nmg"), reviewer(1, REGION), PATH)
    assert not named_by(Step("x", unit_id=REGION, unit_code="nmg"), reviewer(1, REGION), (BANNER, LEAGUE))


def test_a_user_list_overrides_roles():
    step = Step("终审", users=(7,), unit_levels_up=0)
    assert named_by(step, Person(7), PATH)  # no role needed
    assert not named_by(step, reviewer(8), PATH)  # the role in the unit does not count


grants = st.frozensets(st.tuples(st.sampled_from(["reviewer", "supervisor", "admin", "editor"]),
                                 st.sampled_from([1, 2, 3, 9])), max_size=4)
people = st.builds(Person, id=st.integers(1, 6), active=st.booleans(), grants=grants)
role_steps = st.builds(Step, name=st.just("s"), role=st.sampled_from(["reviewer", "supervisor", "admin"]),
                       unit_levels_up=st.integers(0, 3), users=st.lists(st.integers(1, 6), max_size=3).map(tuple),
                       unit_id=st.none() | st.sampled_from([1, 2, 3, 9]), quorum=st.sampled_from(["any", "all"]))


@given(role_steps, people)
def test_inactive_people_are_never_named_and_roles_elsewhere_never_count(step, person):
    if not person.active:
        assert not named_by(step, person, PATH)
    if named_by(step, person, PATH):
        assert person.active
        if step.users:
            assert person.id in step.users
        else:
            assert (step.role, step.target_unit(PATH)) in person.grants
    # Taking away the grants leaves only a user list able to name someone.
    bare = dataclasses.replace(person, grants=frozenset())
    assert named_by(step, bare, PATH) == (person.active and person.id in step.users)


@given(st.lists(role_steps, min_size=1, max_size=4), people)
def test_anywhere_and_final_step(steps, person):
    chain = Chain(tuple(steps))
    assert named_anywhere(chain, person, PATH) == any(named_by(s, person, PATH) for s in steps)
    assert names_final_step(chain, person, PATH) == named_by(steps[-1], person, PATH)
    assert not names_final_step(Chain(()), person, PATH)


@given(role_steps, st.lists(people, max_size=8))
def test_candidates_are_exactly_the_people_named(step, pool):
    assert candidates(step, pool, PATH) == {p.id for p in pool if named_by(step, p, PATH)}


# -- confirmations -------------------------------------------------------------------------------
def test_the_five_confirmations():
    assert CONFIRMATION_KEYS == ("political", "legal", "policy", "secrecy", "wording")
    assert unconfirmed(ALL) == []
    assert unconfirmed(None) == list(CONFIRMATION_KEYS)
    assert unconfirmed({**ALL, "secrecy": False, "legal": "yes", "policy": 1}) == ["legal", "policy", "secrecy"]


@given(st.dictionaries(st.sampled_from([*CONFIRMATION_KEYS, "extra"]),
                       st.one_of(st.booleans(), st.integers(0, 1), st.text(max_size=3), st.none())))
def test_only_true_confirms(given_values):
    assert unconfirmed(given_values) == [k for k in CONFIRMATION_KEYS if given_values.get(k) is not True]


# -- refusing a decision, in the status order of docs/design.md §8 -------------------------------
ME = 1
STATUSES = ["in_review", "draft", "rejected", "approved", "publishing"]


@given(named=st.lists(st.booleans(), min_size=1, max_size=4), data=st.data(), contributor=st.booleans(),
       status=st.sampled_from(STATUSES), acted=st.booleans(),
       requested=st.one_of(st.none(), st.integers(-2, 5), st.just("x"), st.just(True), st.floats(0, 2)))
def test_refusals_come_in_the_design_order(named, data, contributor, status, acted, requested):
    """Each step names ME or someone else; whatever holds, the first rule broken in the order
    403 (not named, own revision), 409 (not in review, already acted), 400 (bad step), 409
    (step taken, not your step) is the one reported."""
    chain = Chain(tuple(Step(f"s{i}", users=(ME,) if n else (99,)) for i, n in enumerate(named)))
    index = data.draw(st.integers(0, len(named) - 1))
    decisions = [approval(ME, 0)] if acted else [approval(2, 0)]
    got = refusal_to_decide(chain, index, Person(ME), PATH, contributors={ME, 50} if contributor else {50},
                            status=status, decisions=decisions, requested=requested)
    if not any(named):
        expected = ("forbidden", "not_reviewer")
    elif contributor:
        expected = ("forbidden", "own_revision")
    elif status != "in_review":
        expected = ("conflict", "not_in_review")
    elif acted:
        expected = ("conflict", "already_acted")
    elif requested is not None and (not isinstance(requested, int) or isinstance(requested, bool) or requested < 0):
        expected = ("bad_request", "invalid_step")
    elif requested is not None and requested != index:
        expected = ("conflict", "step_taken")
    elif not named[index]:
        expected = ("conflict", "step_taken") if any(named[:index]) else ("conflict", "not_your_step")
    else:
        expected = None
    assert (None if got is None else (got.kind, got.code)) == expected
    if got is None:
        # Allowed means: the current step names ME and ME never wrote the post.
        assert named_by(chain.steps[index], Person(ME), PATH) and not contributor
    else:
        assert got.message


def test_refusal_details_and_messages():
    chain = Chain((Step("初审", users=(ME,)), Step("复审", users=(2,))))
    got = refusal_to_decide(chain, 1, Person(ME), PATH, contributors=(), status="in_review", decisions=())
    assert got == Refusal("conflict", "step_taken", "您负责的环节已由他人处理，稿件现处于「复审」环节",
                          {"step": 1, "step_name": "复审"})
    got = refusal_to_decide(chain, 0, Person(ME), PATH, contributors=(), status="rejected", decisions=())
    assert got is not None and dict(got.details) == {"status": "rejected"} and "rejected" in got.message
    got = refusal_to_decide(chain, 0, Person(ME), PATH, contributors=(), status="in_review",
                            decisions=[Decision(ME, 0, step_name="初审", decision="rejected")])
    assert got is not None and got.code == "already_acted" and "「初审」" in got.message  # a rejection counts too
    got = refusal_to_decide(chain, 0, Person(ME), PATH, contributors=(), status="in_review", decisions=(),
                            requested=7)
    assert got is not None and got.code == "step_taken" and "「7」" in got.message
    assert refusal_to_decide(chain, 0, Person(ME, active=False), PATH, contributors=(), status="in_review",
                             decisions=()) == Refusal("forbidden", "not_reviewer", "您没有审核本稿件的权限")


def test_requested_step():
    assert requested_step(None) is None
    assert requested_step(0) == 0 and requested_step(3) == 3
    for bad in (-1, True, "1", 1.0, [0]):
        got = requested_step(bad)
        assert isinstance(got, Refusal) and got.code == "invalid_step"


# -- quorum and eligibility ----------------------------------------------------------------------
@given(index=st.integers(0, 2), named=st.sets(st.integers(1, 8)), authors=st.sets(st.integers(1, 8)),
       approvals=st.lists(st.tuples(st.integers(1, 8), st.integers(0, 2), st.booleans()), max_size=8))
def test_eligible_excludes_contributors_and_approvers_of_other_steps(index, named, authors, approvals):
    decisions = [Decision(uid, step, decision="approved" if ok else "rejected") for uid, step, ok in approvals]
    got = eligible_for_step(index, named, authors, decisions)
    other_approvers = {uid for uid, step, ok in approvals if ok and step != index}
    assert got == named - authors - other_approvers
    # Approving this very step does not make anyone ineligible for it.
    same = {uid for uid, step, ok in approvals if ok and step == index} & named - authors - other_approvers
    assert same <= got


@given(n_steps=st.integers(1, 4), data=st.data(), quorum=st.sampled_from(["any", "all"]),
       eligible=st.sets(st.integers(1, 6)), approvers=st.sets(st.integers(1, 6), min_size=1))
def test_step_progress(n_steps, data, quorum, eligible, approvers):
    index = data.draw(st.integers(0, n_steps - 1))
    chain = Chain(tuple(Step(f"s{i}", quorum=quorum if i == index else "any") for i in range(n_steps)))
    decisions = [Decision(uid, index) for uid in sorted(approvers)] + [Decision(50, index, decision="rejected")]
    got = step_progress(chain, index, decisions, eligible)
    assert got.approved == tuple(sorted(approvers))
    if quorum == "any":
        assert got.complete and got.waiting == ()
    else:
        assert got.complete == (eligible <= approvers)
        assert got.waiting == tuple(sorted(eligible - approvers))
    assert got.next_index == (index + 1 if got.complete else index)
    assert got.final == (got.complete and index == n_steps - 1)


def test_an_all_step_waits_for_everyone_eligible():
    chain = Chain((Step("联审", quorum="all"), Step("终审")))
    half = step_progress(chain, 0, [Decision(1, 0)], {1, 2})
    assert (half.complete, half.waiting, half.next_index, half.final) == (False, (2,), 0, False)
    done = step_progress(chain, 0, [Decision(1, 0), Decision(2, 0)], {1, 2})
    assert (done.complete, done.approved, done.next_index, done.final) == (True, (1, 2), 1, False)
    last = step_progress(chain, 1, [Decision(1, 0), Decision(2, 0), Decision(3, 1)], ())
    assert last.final


# -- the queue -----------------------------------------------------------------------------------
@given(index=st.integers(-1, 4), named_now=st.booleans(), contributor=st.booleans(), acted=st.booleans())
def test_a_post_awaits_me_only_on_my_step_of_a_revision_i_neither_wrote_nor_decided(index, named_now,
                                                                                      contributor, acted):
    chain = Chain(tuple(Step(f"s{i}", users=(ME,) if named_now else (2,)) for i in range(3)))
    got = awaits_decision(chain, index, Person(ME), PATH, contributors={ME} if contributor else set(), acted=acted)
    assert got == (0 <= index < 3 and named_now and not contributor and not acted)


# -- the approval set ----------------------------------------------------------------------------
def _valid_three_step_set():
    chain = Chain((Step("初审"), Step("复审"), Step("终审")))
    return chain, [approval(1, 0), approval(2, 1), approval(3, 2)], {i: reviewer(i) for i in (1, 2, 3)}


def _problem(chain, decisions, reviewers, contributors=(9,), revision_hash=HASH):
    return approval_set_problem(chain, decisions, revision_hash=revision_hash, contributors=contributors,
                                reviewers=reviewers, unit_path=PATH)


def test_a_complete_set_is_valid_and_each_defect_is_named():
    chain, ok, people_ = _valid_three_step_set()
    assert _problem(chain, ok, people_) is None
    assert _problem(chain, ok + [Decision(4, 1, decision="rejected")], people_) is None  # rejections do not count
    assert _problem(chain, ok[:2], people_) == "缺少「终审」环节的审核通过记录"
    assert _problem(chain, ok, people_, revision_hash="b" * 64) == "存在与版本哈希不一致的审核记录"
    assert _problem(chain, ok + [approval(4, 3)], people_ | {4: reviewer(4)}) == "存在不属于审核流程的审核记录"
    assert _problem(chain, ok, people_, contributors={2}) == "「复审」环节的审核人撰写或修改过本稿件"
    assert _problem(chain, [approval(1, 0), approval(1, 1), approval(3, 2)], people_) \
        == "「复审」环节的审核人已审核过其他环节"
    unconfirmed_ = [ok[0], dataclasses.replace(ok[1], confirmations={**ALL, "secrecy": False}), ok[2]]
    assert _problem(chain, unconfirmed_, people_) == "「复审」环节未确认五项审核"
    assert _problem(chain, ok, {**people_, 3: reviewer(3, LEAGUE)}) == "「终审」环节的审核人无权审核"
    assert _problem(chain, ok, {**people_, 3: reviewer(3, active=False)}) == "「终审」环节的审核人无权审核"
    assert _problem(chain, ok, {1: people_[1], 2: people_[2]}) == "「终审」环节的审核人无权审核"
    assert _problem(chain, ok + [approval(4, 2)], people_ | {4: reviewer(4)}) == "「终审」环节的审核记录数量异常"


def test_an_all_step_needs_everyone_recorded_as_required():
    chain = Chain((Step("联审", quorum="all", required=(1, 2)), Step("终审")))
    people_ = {i: reviewer(i) for i in (1, 2, 3)}
    assert _problem(chain, [approval(1, 0), approval(2, 0), approval(3, 1)], people_) is None
    assert _problem(chain, [approval(1, 0), approval(3, 1)], people_) == "「联审」环节要求全部审核人通过，审核记录不完整"
    unrecorded = Chain((Step("联审", quorum="all"), Step("终审")))
    assert _problem(unrecorded, [approval(1, 0), approval(2, 0), approval(3, 1)], people_) \
        == "「联审」环节要求全部审核人通过，审核记录不完整"


# A small world: the banner's reviewers 1-4, a league supervisor 5, people 6 and 7 named by
# user lists (7 is inactive), an editor 8 who wrote the post, and a reviewer 4 who edited it.
WORLD = {
    **{i: reviewer(i) for i in (1, 2, 3, 4)},
    5: reviewer(5, LEAGUE, "supervisor"),
    6: Person(6, unit_id=BANNER),
    7: Person(7, active=False, unit_id=BANNER),
    8: Person(8, grants=frozenset({("editor", BANNER)}), unit_id=BANNER),
}
AUTHORS = {8, 4}
world_steps = st.one_of(
    st.builds(Step, name=st.just(""), quorum=st.sampled_from(["any", "all"])),
    st.builds(Step, name=st.just(""), role=st.just("supervisor"), unit_levels_up=st.just(1)),
    st.builds(Step, name=st.just(""), users=st.lists(st.sampled_from([1, 2, 5, 6, 7, 8]), min_size=1, max_size=3,
                                                     unique=True).map(tuple),
              quorum=st.sampled_from(["any", "all"])),
)
world_chains = st.lists(world_steps, min_size=1, max_size=4).map(
    lambda steps: Chain(tuple(dataclasses.replace(s, name=f"环节{i}") for i, s in enumerate(steps))))


def _review(chain: Chain, order: list[int]) -> tuple[Chain, list[Decision], bool]:
    """Let the people in ``order`` try, in turn, to approve the step the post waits on, as the hub
    does: only what refusal_to_decide allows is recorded; an "all" step records its required set
    when it completes. Returns the chain snapshot, the decisions and whether every step passed."""
    decisions: list[Decision] = []
    index = 0
    for uid in order:
        who = WORLD[uid]
        if refusal_to_decide(chain, index, who, PATH, contributors=AUTHORS, status="in_review",
                             decisions=decisions) is not None:
            continue
        decisions.append(approval(uid, index))
        step = chain.steps[index]
        named = candidates(step, WORLD.values(), PATH)
        progress = step_progress(chain, index, decisions, eligible_for_step(index, named, AUTHORS, decisions))
        if progress.complete and step.needs_everyone:
            steps = list(chain.steps)
            steps[index] = dataclasses.replace(step, required=progress.approved)
            chain = Chain(tuple(steps))
        index = progress.next_index
        if progress.final:
            return chain, decisions, True
    return chain, decisions, False


@given(world_chains, st.lists(st.sampled_from(sorted(WORLD)), max_size=24))
def test_what_the_decision_rule_lets_through_is_exactly_what_the_worker_accepts(chain, order):
    snapshot, decisions, finished = _review(chain, order)
    problem = _problem(snapshot, decisions, WORLD, contributors=AUTHORS)
    assert (problem is None) == finished, problem
    # Separation of duties held throughout: no author, nobody inactive, one person one step.
    approvers = [d.reviewer_id for d in decisions]
    assert len(approvers) == len(set(approvers))
    assert not set(approvers) & AUTHORS and 7 not in approvers
    if not finished:
        return
    # Breaking any one approval of a valid set makes it invalid.
    for i, d in enumerate(decisions):
        rest = decisions[:i] + decisions[i + 1:]
        assert _problem(snapshot, rest, WORLD, contributors=AUTHORS), ("dropped", d)
        for broken in (dataclasses.replace(d, revision_hash="b" * 64),
                       dataclasses.replace(d, confirmations={**ALL, CONFIRMATION_KEYS[i % 5]: False}),
                       dataclasses.replace(d, step=len(snapshot.steps))):
            assert _problem(snapshot, rest + [broken], WORLD, contributors=AUTHORS), ("broken", broken)
        assert _problem(snapshot, decisions, WORLD, contributors=AUTHORS | {d.reviewer_id}), ("author", d)
        demoted = {**WORLD, d.reviewer_id: dataclasses.replace(WORLD[d.reviewer_id], active=False)}
        assert _problem(snapshot, decisions, demoted, contributors=AUTHORS), ("inactive", d)
        others = [s for s in range(len(snapshot.steps)) if s != d.step]
        if others:
            twice = dataclasses.replace(d, step=others[0])
            assert _problem(snapshot, decisions + [twice], WORLD, contributors=AUTHORS), ("two steps", twice)


@pytest.mark.parametrize("order, finished", [
    ([1, 2, 3], True),
    ([8, 4, 1, 1, 2, 3], True),  # the authors and a repeat are refused; the rest passes
    ([1, 2], False),
    ([7, 6, 5], False),  # nobody named by the default chain
])
def test_the_default_chain_in_the_small_world(order, finished):
    snapshot, decisions, done = _review(Chain.default(), order)
    assert done == finished
    assert (_problem(snapshot, decisions, WORLD, contributors=AUTHORS) is None) == finished
