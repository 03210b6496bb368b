"""The one small interface every platform adapter implements.

An adapter turns one approved revision into one publication on one account,
and answers the questions the dispatch engine asks around that:

* ``render``        — the exact fields this platform will be sent for a revision (``Rendering``):
                      what the content checks read, reviewers see and the revision hash covers;
* ``validate``      — problems (zh-CN) the platform would refuse, before anything is sent;
* ``publish``       — make the publication; may resume from a checkpoint (``Publication.resume``);
* ``status``        — how a submitted publication is doing (platforms that publish asynchronously);
* ``find``          — reconciliation: does the platform hold a publication (or a draft) of this
                      dispatch?  Recognised by what the hub recorded at its checkpoints
                      (``Publication.resume``: draft and publish references) and by its content;
* ``withdraw``      — take a publication down (撤稿);
* ``verify_credentials`` — one real, harmless call with the stored credentials;
* ``credential_fields`` / ``credential_schema()`` and ``limits`` — what admins store and what
  the editor checks.

Adapters never touch the database. The engine hands them two hooks:
``before_call`` (rate limit, lease renewal; raises :class:`LostClaim` when this worker no
longer owns the dispatch) and ``checkpoint`` (persists a stage such as "the draft exists" before
the next mutating call, so a crash never makes a retry duplicate work). It also sets ``media``, a
:class:`MediaStore` for the account: what the adapter uploaded before (by image hash), so an image goes
up once per account and a platform's media library never grows with retries.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, ClassVar, Protocol


@dataclass(frozen=True)
class CredentialField:
    name: str
    label: str  # zh-CN label shown to admins
    secret: bool = True
    required: bool = True
    #: (value, zh-CN label) when only these values are valid: the admin picks one instead of typing it.
    choices: tuple[tuple[str, str], ...] = ()


@dataclass
class Rendering:
    """What one platform will be sent for one revision, field by field, as the platform keeps it.

    ``fields`` maps a field name to the text (or HTML) sent: ``title``, ``digest``, ``author``,
    ``content`` (WeChat), ``status`` (the Weibo status with its link), ``articles.1.title`` … for
    extra articles. The content checks run on every field (findings name ``rendering.<platform>.<field>``),
    reviewers see every field, and the revision hash covers them. ``html_fields`` are shown as HTML in a
    sandboxed frame, the others as text. ``pictures`` names the pictures sent ("cover", body image hashes).
    ``warnings``: what the platform would strip and the rendering removed (zh-CN). ``problems``: what the
    platform would refuse (zh-CN) — blocking at submit, never first discovered at publish.
    """

    platform: str
    fields: dict[str, str]
    html_fields: tuple[str, ...] = ()
    pictures: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"platform": self.platform, "fields": dict(self.fields), "html_fields": list(self.html_fields),
                "pictures": list(self.pictures), "warnings": list(self.warnings), "problems": list(self.problems)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Rendering:
        return cls(str(data.get("platform", "")), dict(data.get("fields") or {}),
                   tuple(data.get("html_fields") or ()), list(data.get("pictures") or []),
                   list(data.get("warnings") or []), list(data.get("problems") or []))


@dataclass
class Publication:
    """What the worker hands an adapter: content of one approved revision for one account."""

    dispatch_id: int
    title: str
    content: str
    summary: str
    author: str
    source_url: str
    cover: bytes
    cover_mime: str
    #: Unused by the built-in adapters (WeChat used to write it into the public ``content_source_url``);
    #: kept so that callers that still pass it work.
    marker_url: str = ""
    variant: dict[str, Any] = field(default_factory=dict)
    #: Where an earlier attempt got to: {"stage": ..., "draft_ref": ..., "platform_ref": ...}.
    resume: dict[str, Any] = field(default_factory=dict)
    #: Link to the post in the hub (used by platforms whose text must carry a link).
    link: str = ""
    #: The acting user's real IP address as the hub recorded it (the final approver's, or whoever
    #: released the send), or the configured address for scheduled sends; "" if none is known.
    #: Weibo documents it as required (``rip``).
    rip: str = ""
    #: The articles after the main one (WeChat 次条): {title, content, summary, author, source_url,
    #: cover (bytes), cover_mime}. Platforms with ``max_articles == 1`` publish the main one only.
    articles: list[dict[str, Any]] = field(default_factory=list)
    #: The rendering the reviewers approved for this account (``render`` of the same revision):
    #: what ``publish`` sends. None only for revisions made before renderings were stored.
    rendering: Rendering | None = None
    #: The body images stored in the hub (main article and extra articles): ``<img src>`` as written
    #: in the content (``/media/<id>/<hash>.<ext>``) → the image's bytes. Adapters send these bytes
    #: (rehosted on the platform, or in the push body) and never fetch the hub over HTTP.
    images: dict[str, bytes] = field(default_factory=dict)
    #: The post's video (platforms that publish video): its bytes, MIME type and SHA-256 as approved.
    video: bytes = b""
    video_mime: str = ""
    video_sha256: str = ""
    #: The video's file on disk (the hub streams large videos there; ``video`` holds the same bytes for now).
    video_path: str = ""
    #: The library fields of the revision (issue 17): {category, metadata: [[label, value]], policies:
    #: [{id, title}], validity: {status, label, effective_on?, expires_on?, replaced_by?}, banner}, in plain
    #: Chinese. Platforms that show them (the website) put them in their rendering; the others ignore them.
    library: dict[str, Any] = field(default_factory=dict)


@dataclass
class PublishResult:
    status: str  # "published" | "submitted" (platform still publishing)
    platform_ref: str | None = None
    article_id: str | None = None
    url: str | None = None
    draft_ref: str | None = None
    #: zh-CN: what the platform is doing while "submitted" (e.g. a 群发 waiting to finish).
    note: str | None = None


@dataclass
class Lookup:
    """What reconciliation learnt from the platform about one dispatch.

    ``published``: the platform holds the publication (with its reference and link).
    ``in_progress``: the platform is still publishing it (ask again later).
    ``drafts``: references of drafts of this dispatch (no publication yet), the one to resume from first.
    ``gone``: the publication existed but was deleted on the platform (with the reason).
    """

    published: PublishResult | None = None
    in_progress: bool = False
    drafts: list[str] = field(default_factory=list)
    failed: str | None = None
    #: zh-CN: what the platform is doing while ``in_progress``.
    note: str | None = None

    @property
    def found_nothing(self) -> bool:
        return self.published is None and not self.in_progress and not self.drafts and self.failed is None


@dataclass(frozen=True)
class MetricsRef:
    """One publication whose figures the hub asks for: the references it recorded at publish time
    (``platform_ref``, ``article_id``; ``stats_ref``: the platform's reference for its statistics,
    WeChat's ``msg_data_id``) and the Beijing date it was published on."""

    key: str  # the hub's own name for it (the dispatch id): the key of ``Figures.items``
    platform_ref: str
    article_id: str = ""
    stats_ref: str = ""
    published_on: date | None = None


@dataclass
class ItemFigures:
    """A publication's running totals as the platform counts them at the end of a day; None: the
    platform does not give that figure (Weibo has no read count in its open API)."""

    reads: int | None = None
    shares: int | None = None  # 转发 / 分享
    comments: int | None = None
    likes: int | None = None  # 点赞 / 赞


@dataclass
class Figures:
    """What ``Adapter.metrics`` learnt for one account and one day: the account's followers (None when
    the platform does not say) and the figures of each publication asked for that the platform knows
    (keyed by ``MetricsRef.key``); ``missing``: keys the platform had nothing for, with the zh-CN reason."""

    followers: int | None = None
    items: dict[str, ItemFigures] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)
    #: The Beijing date the figures are of, when not the day asked (Weibo only gives current counts).
    as_of: date | None = None


@dataclass(frozen=True)
class StoredMedia:
    """One upload an account's platform holds: ``kind`` "cover" (WeChat: a permanent ``thumb``
    material, counted against the account's library) or "image" (a body image URL)."""

    kind: str
    media_id: str
    url: str = ""


class MediaStore(Protocol):
    """What one account's platform already holds of the adapter's uploads (the hub keeps it in its
    database, hub/dispatch/media.py, one store per account). ``sha256`` is that of the bytes as sent,
    ``source_sha256`` that of the image the hub holds (a post's or account's cover)."""

    def get(self, kind: str, sha256: str) -> StoredMedia | None:
        """The upload of these bytes, if the platform is known to hold one (and mark it used)."""
        ...

    def put(self, kind: str, sha256: str, media: StoredMedia, source_sha256: str = "") -> StoredMedia:
        """Remember a new upload; returns the one kept (an earlier upload of the same bytes wins)."""
        ...

    def forget(self, kind: str, media_id: str) -> None:
        """The platform no longer holds ``media_id`` (deleted, or gone)."""
        ...

    def releasable(self, kind: str, *, all_unused: bool = False) -> list[StoredMedia]:
        """Uploads no dispatch may use any more (and, unless ``all_unused``, unused for the keep
        period): what the adapter deletes on the platform."""
        ...


class PlatformError(Exception):
    """A platform call failed.

    ``retryable``: known not to have happened and worth retrying (busy, rate limit).
    ``ambiguous``: the request may have been acted on (timeout / dropped after sending).
    ``stale_token``: the access token was rejected; refresh once and retry.
    ``quota``: the daily quota is used up; try again tomorrow.
    ``retry_after``: seconds after which the call may succeed (a quota or rate window the platform
    names, e.g. Weibo's hourly 10023); the engine waits that long instead of backoff or the next day.
    Anything else is permanent: ``message`` is a zh-CN reason an editor understands.
    """

    def __init__(self, message: str, *, code: Any = None, retryable: bool = False,
                 ambiguous: bool = False, stale_token: bool = False, quota: bool = False,
                 retry_after: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.retryable = retryable
        self.ambiguous = ambiguous
        self.stale_token = stale_token
        self.quota = quota
        self.retry_after = retry_after
        self.draft_ref: str | None = None


class LostClaim(Exception):
    """This worker no longer owns the dispatch (its lease ran out): stop before the next call."""


class AdapterUnavailable(LookupError):
    """No adapter for the platform, or the adapter is disabled (a clean, zh-CN message)."""


def _noop(*_args: Any, **_kwargs: Any) -> None:
    return None


class Adapter:
    """Base class: one subclass per platform, registered in ``adapters.registry``."""

    platform: ClassVar[str] = ""
    label: ClassVar[str] = ""
    credential_fields: ClassVar[tuple[CredentialField, ...]] = ()
    limits: ClassVar[dict[str, int]] = {}
    default_api_base: ClassVar[str] = ""
    #: Calls per second the whole hub makes to this platform (all workers together).
    rate_per_second: ClassVar[int] = 100
    #: Whether the platform answers "is this dispatch's publication there?" (reconciliation).
    can_find: ClassVar[bool] = True
    #: Whether the platform gives read counts / followers by API (``metrics``).
    can_measure: ClassVar[bool] = False
    #: Articles one publication may carry (WeChat: 8, the main one and seven 次条).
    max_articles: ClassVar[int] = 1
    #: Whether ``publish`` of an already published dispatch replaces the item in place (an update:
    #: the website's idempotent PUT). The hub pushes validity changes only to such platforms.
    supports_update = False
    #: The account's uploads (set by the engine when it builds the adapter; None: reuse nothing).
    media: MediaStore | None = None
    #: Hub settings that shape what this platform is sent: {settings key: ``HUB_*`` variable}. The hub
    #: passes their current values (as text) in the ``settings`` given to ``render``, and
    #: to the instance (``config``), so adapters never read the hub's configuration themselves.
    config_settings: ClassVar[dict[str, str]] = {}

    def __init__(self, api_base: str, credentials: dict[str, str], token_cache: Any = None, *,
                 before_call: Callable[[], None] | None = None,
                 checkpoint: Callable[..., None] | None = None,
                 config: dict[str, str] | None = None) -> None:
        self.api_base = api_base.rstrip("/")
        self.config: dict[str, str] = dict(config or {})  # values of ``config_settings``
        self.credentials = credentials
        self.token_cache = token_cache
        self.before_call: Callable[[], None] = before_call or _noop
        self.checkpoint: Callable[..., None] = checkpoint or _noop
        #: The body images of the publication being sent (``Publication.images``), handed over by the
        #: engine before ``publish`` for helpers that are given HTML rather than the publication.
        self.images: dict[str, bytes] = {}

    @classmethod
    def enabled(cls) -> bool:
        """A disabled adapter is not registered; its accounts get a clean error."""
        return True

    @classmethod
    def credential_schema(cls) -> dict[str, Any]:
        """JSON description of the credential fields (names, zh-CN labels, secret, required)."""
        return {"platform": cls.platform, "label": cls.label, "fields": [
            {"name": f.name, "label": f.label, "secret": f.secret, "required": f.required}
            for f in cls.credential_fields]}

    @classmethod
    def validate(cls, title: str, content: str, summary: str, author: str,
                 variant: dict[str, Any] | None = None) -> list[str]:
        """Problems (zh-CN) that the platform would refuse whatever the account and the hub's settings;
        empty if fine. ``render`` reports these and the ones that depend on settings."""
        return []

    @classmethod
    def render(cls, pub: Publication, settings: dict[str, str] | None = None) -> Rendering:
        """The fields this platform will be sent for ``pub`` (``settings``: the account's non-secret
        settings, e.g. Weibo's ``safe_url``). Adapters whose platform rewrites or composes content
        override this; ``publish`` sends what it returns and nothing else."""
        v = pub.variant or {}
        fields = {"title": v.get("title") or pub.title, "digest": v.get("summary") or pub.summary,
                  "author": pub.author, "content": pub.content}
        html = ["content"]
        warnings = []
        if pub.articles and cls.max_articles > 1:
            for i, a in enumerate(pub.articles[: cls.max_articles - 1]):
                for key, src in (("title", "title"), ("digest", "summary"), ("author", "author"), ("content", "content")):
                    fields[f"articles.{i}.{key}"] = a.get(src) or ""
                html.append(f"articles.{i}.content")
        elif pub.articles:
            warnings.append(f"{cls.label or cls.platform}只发布主文章，其余 {len(pub.articles)} 篇文章不会发到该平台")
        return Rendering(cls.platform, {k: val for k, val in fields.items() if val}, html_fields=tuple(html),
                         pictures=["cover"] if pub.cover else [], warnings=warnings,
                         problems=cls.validate(pub.title, pub.content, pub.summary, pub.author, v))

    @classmethod
    def render_notes(cls, pub: Publication, settings: dict[str, str]) -> tuple[list[str], list[str]]:
        """(warnings, problems) about how ``pub`` will be sent that are not fields of the rendering
        (e.g. WeChat's 群发 choices and quota); added to the rendering by the hub."""
        return [], []

    def settings(self) -> dict[str, str]:
        """The account's non-secret settings (credential fields with ``secret=False``, e.g. Weibo's
        ``safe_url``) and the hub settings of ``config_settings``: what ``render`` is given, so
        ``self.render(pub, self.settings())`` is what ``publish`` sends."""
        names = {f.name for f in self.credential_fields if not f.secret}
        return {**self.config, **{k: v for k, v in self.credentials.items() if k in names and v}}

    def verify_credentials(self) -> tuple[bool, str]:
        """One real call with the stored credentials: (ok, zh-CN message)."""
        raise NotImplementedError

    def publish(self, pub: Publication) -> PublishResult:
        """Publish (or resume publishing) ``pub``; raises :class:`PlatformError`."""
        raise NotImplementedError

    def status(self, platform_ref: str) -> PublishResult:
        """Status of a submitted publication; raises :class:`PlatformError` when it failed."""
        return PublishResult("published", platform_ref)

    def find(self, pub: Publication, *, since: float, draft_ref: str | None = None,
             platform_ref: str | None = None) -> Lookup:
        """Reconciliation: what the platform holds for the dispatch of ``pub``, recognised by the
        references the hub recorded (``draft_ref``, ``platform_ref``) or by its content.

        ``since`` (epoch seconds) bounds the search to items updated after the dispatch was
        created. Raises :class:`PlatformError` when the platform cannot be asked.
        """
        raise NotImplementedError

    def release_media(self, items: list[StoredMedia] | None = None, *, all_unused: bool = False) -> int:
        """Delete on the platform the uploads no dispatch uses any more (``items``, or what
        ``media.releasable`` names) and forget them; returns how many went. Platforms whose uploads
        cost nothing to keep release nothing."""
        return 0

    def metrics(self, refs: list[MetricsRef], day: date) -> Figures:
        """The figures of ``refs`` and the account's followers as of the end of ``day`` (Beijing), from
        the platform's statistics API. Raises :class:`PlatformError` when the platform cannot be asked;
        ``NotImplementedError`` when it gives no figures by API (``can_measure`` False)."""
        raise NotImplementedError

    def withdraw(self, platform_ref: str | None, article_id: str | None) -> bool:
        """Take the publication down: True if it was deleted now, False if the platform no longer has it
        (deleted in the platform's own backend, or by an earlier attempt whose answer was lost).
        Raises :class:`PlatformError`; ``NotImplementedError`` if the platform cannot delete by API."""
        raise NotImplementedError
