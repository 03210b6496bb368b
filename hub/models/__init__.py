"""SQLAlchemy models. Import from here: ``from hub.models import Post``."""

from hub.models.account import ACCOUNT_STATUSES, Account, Credential, Media
from hub.models.audit import AuditEntry, AuditHead
from hub.models.base import Base, utcnow
from hub.models.chain import ReviewChain, RevisionView, UnitPause
from hub.models.dispatch_attempt import ATTEMPT_KINDS, DispatchAttempt
from hub.models.filing import FILING_KINDS, FILING_STATUSES, Filing, FilingDecision
from hub.models.inspection import (
    INSPECTION_STATUSES,
    FindingOverride,
    InspectionAlert,
    InspectionFinding,
    InspectionRun,
)
from hub.models.interaction import (
    ANSWER_STATUSES,
    CHANNELS,
    CLOSE_REASONS,
    MESSAGE_STATUSES,
    QA_STATUSES,
    AnswerDecision,
    ContactSecret,
    InboxMessage,
    InteractionCursor,
    MessageAnswer,
    QaEntry,
)
from hub.models.lexicon import LexiconDisable, LexiconEntry, LexiconVersion
from hub.models.metrics import AccountMetrics, PublicationMetrics
from hub.models.notify import (
    CHANNEL_KINDS,
    DELIVERY_STATUSES,
    NOTIFY_KINDS,
    Notification,
    NotifyChannel,
    NotifyDelivery,
    NotifyPreference,
    NotifySecret,
)
from hub.models.org import (
    ROLES,
    SIGNIN_LINK_PURPOSES,
    UNIT_KINDS,
    ApiToken,
    RecoveryCode,
    RoleGrant,
    SignInLink,
    Unit,
    User,
    UserTotp,
)
from hub.models.oversight import (
    MONITOR_LEVELS,
    RECTIFICATION_STATUSES,
    AnnualReport,
    MonitorAlert,
    QuarterlyInspection,
    Rectification,
)
from hub.models.platform_media import PLATFORM_MEDIA_KINDS, PlatformMedia
from hub.models.post import (
    DISPATCH_STATUSES,
    DISPATCH_TERMINAL,
    POST_STATUSES,
    Approval,
    Comment,
    Dispatch,
    PolicyLink,
    Post,
    PostSearch,
    Revision,
)
from hub.models.vault import CredentialArchive, RotationTask, VaultKey
from hub.models.witness import WitnessedCheckpoint

__all__ = [
    "ACCOUNT_STATUSES", "ATTEMPT_KINDS", "DISPATCH_STATUSES", "DISPATCH_TERMINAL", "POST_STATUSES", "ROLES", "UNIT_KINDS",
    "Account", "ApiToken", "CredentialArchive", "FILING_KINDS", "FILING_STATUSES", "Filing",
    "FilingDecision", "RotationTask", "VaultKey", "Approval", "AuditEntry", "AuditHead", "Base", "Comment",
    "Credential",
    "Dispatch", "DispatchAttempt", "Media", "PolicyLink", "Post", "PostSearch", "Revision", "RoleGrant", "Unit",
    "User", "utcnow",
    "UserTotp", "RecoveryCode", "SignInLink", "SIGNIN_LINK_PURPOSES",
    "ReviewChain", "RevisionView", "UnitPause", "WitnessedCheckpoint",
    "INSPECTION_STATUSES", "FindingOverride", "InspectionAlert", "InspectionFinding", "InspectionRun",
    "LexiconDisable", "LexiconEntry",
    "LexiconVersion", "PLATFORM_MEDIA_KINDS", "PlatformMedia",
    "AccountMetrics", "PublicationMetrics",
    "MONITOR_LEVELS", "RECTIFICATION_STATUSES", "MonitorAlert", "Rectification", "AnnualReport", "QuarterlyInspection",
    "CHANNEL_KINDS", "DELIVERY_STATUSES", "NOTIFY_KINDS", "Notification", "NotifyChannel", "NotifyDelivery",
    "NotifyPreference", "NotifySecret",
    "ANSWER_STATUSES", "CHANNELS", "CLOSE_REASONS", "MESSAGE_STATUSES", "QA_STATUSES", "AnswerDecision",
    "ContactSecret", "InboxMessage", "InteractionCursor", "MessageAnswer", "QaEntry",
]
