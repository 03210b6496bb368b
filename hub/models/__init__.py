"""SQLAlchemy models. Import from here: ``from hub.models import Post``."""

from .account import ACCOUNT_STATUSES, Account, Credential, Media
from .audit import AuditEntry, AuditHead
from .base import Base, utcnow
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

__all__ = [
    "ACCOUNT_STATUSES", "DISPATCH_STATUSES", "DISPATCH_TERMINAL", "POST_STATUSES", "ROLES", "UNIT_KINDS",
    "Account", "ApiToken", "Approval", "AuditEntry", "AuditHead", "Base", "Comment", "Credential",
    "Dispatch", "Media", "Post", "Revision", "RoleGrant", "Unit", "User", "utcnow",
]
