"""Default configuration. Every key can be set by a ``PORTAL_<KEY>`` environment variable."""
from __future__ import annotations

DEFAULT_SECRET_KEY = "dev-only-change-me"


class Defaults:
    """The defaults, fit for the demo; production overrides them by environment."""

    SECRET_KEY = DEFAULT_SECRET_KEY
    SQLALCHEMY_DATABASE_URI: str | None = None  # instance/portal.sqlite when unset
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    PUBLIC_URL = "http://127.0.0.1:5000"
    HOME: str | None = None
    #: reverse proxies in front of the portal whose X-Forwarded-For/-Proto to trust
    PROXY_COUNT = 0

    # Plugins: names of installed plugins to enable (None: all), extra modules.
    PLUGINS: list[str] | str | None = None
    PLUGIN_MODULES: list[str] = []

    # Sessions
    SESSION_COOKIE_NAME = "portail_session"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE: bool | None = None  # derived from PUBLIC_URL when None
    IDLE_TIMEOUT_MINUTES = 20
    SESSION_TOUCH_SECONDS = 60

    # Passwords and tokens
    #: argon2id parameters {"time_cost", "memory_cost" (KiB), "parallelism"}; None: argon2-cffi's defaults
    ARGON2_PARAMETERS: dict | None = None
    PASSWORD_TIGHTEN: dict = {}
    TEMPORARY_PASSWORD_HOURS = 72
    RESET_LINK_HOURS = 2
    ACTIVATION_LINK_HOURS = 48

    # Throttling (Flask-Limiter)
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_HEADERS_ENABLED = True
    LOGIN_LIMITS_PER_ACCOUNT = "5 per minute;20 per hour;50 per day"
    LOGIN_LIMITS_PER_ADDRESS = "30 per minute;300 per hour"
    RECOVERY_LIMITS = "5 per minute;20 per hour"

    # Mail
    MAIL_SERVER = "127.0.0.1"
    MAIL_PORT = 25
    MAIL_USE_TLS = False
    MAIL_USE_SSL = False
    MAIL_USERNAME: str | None = None
    MAIL_PASSWORD: str | None = None
    MAIL_DEFAULT_SENDER = "Portail <no-reply@portail.local>"
    MAIL_SUPPRESS_SEND = False
    MAIL_TIMEOUT = 10
    #: deliver queued messages at the end of the request that queued them
    OUTBOX_SEND_IMMEDIATELY = True

    # Languages
    BABEL_DEFAULT_LOCALE = "fr"
    BABEL_DEFAULT_TIMEZONE = "Africa/Casablanca"
    LANGUAGES = ["fr"]

    # Branding overrides per space key: {"insurer/space": {"name": ..., ...}}
    BRANDING: dict = {}
    TEMPLATE_OVERRIDES: str | None = None

    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session
    MAX_CONTENT_LENGTH = 20 * 1024 * 1024

    # Imports (CORE-13): the largest file accepted (never above MAX_CONTENT_LENGTH),
    # where uploads wait (None: instance/imports; shared storage for several hosts),
    # how long an uploaded file waits for « Valider l'import », the threads that run imports
    IMPORT_MAX_BYTES = 20 * 1024 * 1024
    IMPORT_FOLDER: str | None = None
    IMPORT_KEEP_MINUTES = 60
    IMPORT_THREADS = 2
