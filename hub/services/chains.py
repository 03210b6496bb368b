"""Review chains: the ordered steps a post passes before publication.

The default chain is 三审 (初审 → 复审 → 终审), each step taken by any one
reviewer of the post's unit. A post keeps the chain it was submitted under
(stored as JSON on the post), so editing the unit's chain later does not
change a review in progress.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from ..models import Post, User

DEFAULT_STEPS = ("初审", "复审", "终审")


@dataclass
class Step:
    name: str
    role: str = "reviewer"
    # None: the post's own unit; otherwise how many levels up the unit tree (1 = parent).
    unit_levels_up: int = 0
    users: list[int] = field(default_factory=list)
    quorum: str = "any"

    def unit_id_for(self, post: Post) -> int | None:
        unit = post.unit
        for _ in range(self.unit_levels_up):
            if unit.parent is None:
                return None
            unit = unit.parent
        return unit.id

    def may_act(self, session: Session, user: User, post: Post) -> bool:
        if not user.is_active:
            return False
        if self.users:
            return user.id in self.users
        unit_id = self.unit_id_for(post)
        return unit_id is not None and user.has_role(self.role, unit_id)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "role": self.role, "unit_levels_up": self.unit_levels_up,
                "users": list(self.users), "quorum": self.quorum}


@dataclass
class Chain:
    steps: list[Step]

    @classmethod
    def default(cls) -> Chain:
        return cls([Step(name) for name in DEFAULT_STEPS])

    @classmethod
    def from_json(cls, data: list[dict[str, Any]]) -> Chain:
        return cls([Step(d["name"], d.get("role", "reviewer"), int(d.get("unit_levels_up", 0)),
                         list(d.get("users") or []), d.get("quorum", "any")) for d in data])

    def to_json(self) -> list[dict[str, Any]]:
        return [s.to_json() for s in self.steps]

    def may_act_anywhere(self, session: Session, user: User, post: Post) -> bool:
        return any(s.may_act(session, user, post) for s in self.steps)


def chain_for(session: Session, post: Post) -> Chain:
    """The chain a post is reviewed under now (configurable chains arrive with issue 3)."""
    return Chain.default()
