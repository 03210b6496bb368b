"""The contracts of the audit area: GET /audit (a page of entries) and GET /audit/verify
(docs/design.md §6.2)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from hub.contracts import In, Out, Timestamp


class AuditActor(Out):
    """Who acted; a CLI action's actor is {username: "cli:<os user>"}."""

    id: int | None
    username: str | None
    name: str | None
    unit: str | None


class AuditEntryOut(Out):
    """An entry; ``GET /audit`` adds every hashed field plus prev_hash and hash (docs/verify_export.py)."""

    seq: int
    at: Timestamp
    actor: AuditActor
    action: str = Field(description="dotted and lower-case: post.create, post.approve, dispatch.published, ...")
    object_type: str | None
    object_id: str | None
    unit: str | None
    summary: str
    ip: str | None = None
    user_agent: str | None = None
    details: dict[str, Any] | None = None
    prev_hash: str | None = None
    hash: str | None = None


class AuditPage(Out):
    entries: list[AuditEntryOut]
    next_after: int | None = Field(description="pass as ?after= for the next page; null at the end")


class AuditHistory(Out):
    entries: list[AuditEntryOut]


class ChainHead(Out):
    seq: int
    hash: str | None


class CheckpointOut(Out):
    seq: int
    hash: str
    at: str
    kind: str


class WitnessState(Out):
    entries: int | None
    checkpoints: int | None
    last_checkpoint: CheckpointOut | None
    key_id: str | None


class AuditVerifyOut(Out):
    ok: bool
    entries: int
    head: ChainHead | None
    witness: WitnessState
    warnings: list[str]
    start: int | None = None
    first_bad_seq: int | None = None
    reason: str | None = None


class SignedCheckpointBody(Out):
    """A checkpoint exactly as its hub signed it (hub.audit.witness)."""

    v: int
    kind: str
    seq: int
    hash: str
    at: str = Field(description="UTC, e.g. 2026-01-02T03:04:05Z")
    key: str = Field(description="fingerprint of the signing key: first 16 hex digits of SHA-256 over its raw bytes")


class WitnessCheckpointIn(In):
    """A signed checkpoint sent to the witness, with the sender's public key (base64 of its 32 raw bytes)."""

    checkpoint: SignedCheckpointBody
    sig: str = Field(description="base64 Ed25519 signature over the domain line + canonical JSON of checkpoint")
    public_key: str


class WitnessCheckpointOut(Out):
    checkpoint: SignedCheckpointBody
    sig: str
    public_key: str
    stored: bool | None = Field(default=None, description="false when the same checkpoint was already held")


class WitnessCheckpointList(Out):
    checkpoints: list[WitnessCheckpointOut]
