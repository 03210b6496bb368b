"""Flask extensions, created unbound and initialised in ``create_app``."""

from __future__ import annotations

from flask import request, session
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

LOCALES = ("zh_CN", "en")

login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=True,
                  strategy="moving-window")


def select_locale() -> str:
    lang = session.get("lang") if request else None
    if lang in LOCALES:
        return lang
    from flask_login import current_user

    if getattr(current_user, "is_authenticated", False) and current_user.locale in LOCALES:
        return current_user.locale
    return "zh_CN"
