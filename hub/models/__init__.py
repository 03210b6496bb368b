"""SQLAlchemy models. Import from here: ``from hub.models import Post``."""

from .account import ACCOUNT_STATUSES, Account, Credential, Media
from .audit import AuditEntry, AuditHead
from .base import Base, utcnow
from .chain import ReviewChain, RevisionView, UnitPause
from .dispatch_attempt import ATTEMPT_KINDS, DispatchAttempt
from .filing import FILING_KINDS, FILING_STATUSES, Filing, FilingDecision
from .inspection import SCAN_STATUSES, CheckAlert, FindingOverride, ScanFinding, ScanRun
from .lexicon import LexiconDisable, LexiconEntry, LexiconVersion
from .org import ROLES, UNIT_KINDS, ApiToken, RoleGrant, Unit, User
from .post import (
    DISPATCH_STATUSES,
    DISPATCH_TERMINAL,
    POST_STATUSES,
    Approval,
    Comment,
    Dispatch,
    Post,
    Revision,
)
from .vault import CredentialArchive, RotationTask, VaultKey

__all__ = [
    "ACCOUNT_STATUSES", "ATTEMPT_KINDS", "DISPATCH_STATUSES", "DISPATCH_TERMINAL", "POST_STATUSES", "ROLES", "UNIT_KINDS",
    "Account", "ApiToken", "CredentialArchive", "FILING_KINDS", "FILING_STATUSES", "Filing",
    "FilingDecision", "RotationTask", "VaultKey", "Approval", "AuditEntry", "AuditHead", "Base", "Comment",
    "Credential",
    "Dispatch", "DispatchAttempt", "Media", "Post", "Revision", "RoleGrant", "Unit", "User", "utcnow",
    "ReviewChain", "RevisionView", "UnitPause",
    "SCAN_STATUSES", "CheckAlert", "FindingOverride", "ScanFinding", "ScanRun", "LexiconDisable", "LexiconEntry",
    "LexiconVersion",
]
