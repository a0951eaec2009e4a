"""Settings: every DRAFTBOT_* variable, validated once at start-up by get_settings()."""

from __future__ import annotations

import base64
import binascii
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.errors import SettingsError

PROJECT_DIR = Path(__file__).resolve().parent.parent
WECOM_API_BASE = "https://qyapi.weixin.qq.com/cgi-bin/"


class Settings(BaseSettings):
    """Configuration read from the environment (prefix DRAFTBOT_) or a .env file."""

    model_config = SettingsConfigDict(env_prefix="DRAFTBOT_", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///var/draftbot.db"
    intents_dir: Path = PROJECT_DIR / "intents"
    personas_dir: Path = PROJECT_DIR / "persona_styles"
    default_persona: str = "_default"
    catalog: Path | None = None
    fallback_threshold: float | None = Field(None, ge=0.0, le=1.0)  # None: chosen by cross-validation
    target_precision: float = Field(0.95, gt=0.0, le=1.0)

    wecom_corp_id: str = ""
    wecom_token: str = ""
    wecom_aes_key: str = ""
    wecom_secret: str = ""
    wecom_agent_id: str = ""
    wecom_kf_secret: str = ""
    wecom_api_base: str = WECOM_API_BASE
    wecom_timeout_seconds: float = Field(5.0, gt=0)
    replay_window_seconds: int = Field(600, gt=0)

    approvers: Annotated[list[str], NoDecode] = []
    admins: Annotated[list[str], NoDecode] = []
    kf_staff: Annotated[dict[str, str], NoDecode] = {}
    public_url: str = ""
    sensitive_words_file: Path | None = None
    promo_daily_cap: int = Field(1, ge=0)
    promo_weekly_cap: int = Field(3, ge=0)
    quiet_hours: str = "21:00-09:00"
    timezone: str = "Asia/Shanghai"
    escalate_after_minutes: float = Field(10.0, gt=0)
    context_minutes: float = Field(120.0, ge=0)  # the customer's answered messages this recent still lend drafts their entities
    worker: Literal["auto", "thread", "process"] = "auto"  # auto: a process under `draftbot serve`, else a thread
    worker_poll_seconds: float = Field(0.5, gt=0)
    worker_lease_seconds: float = Field(60.0, gt=0)
    config_poll_seconds: float = Field(2.0, gt=0)  # how often each instance checks for a newly active configuration
    send_max_attempts: int = Field(6, ge=1)
    send_backoff_seconds: float = Field(2.0, ge=0)
    demo: bool | None = None  # None: on until WeCom is configured, then off unless set to true
    docs: bool = True  # /docs, /redoc and /openapi.json (off: 404)
    metrics: bool = True  # /metrics (off: 404)
    trusted_proxies: Annotated[list[str], NoDecode] = []  # IPs/CIDRs whose X-Forwarded-For is believed
    body_timeout_seconds: float = Field(10.0, gt=0)  # a request body must arrive within this (else 408)
    orders_url: str = ""  # the brand's order system, e.g. https://oms.example/api/orders/{order_no} (empty: no lookups)
    orders_token: str = ""  # sent as Authorization: Bearer ...
    orders_timeout_seconds: float = Field(2.0, gt=0)
    orders_cache_seconds: float = Field(60.0, ge=0)  # an order looked up is reused this long (0: never)
    orders_concurrency: int = Field(4, ge=1)  # lookups in flight at once, per process
    orders_breaker_failures: int = Field(3, ge=1)  # consecutive failures that pause lookups
    orders_breaker_seconds: float = Field(30.0, gt=0)  # how long lookups pause then
    log_level: str = "INFO"
    retention_days: int = Field(180, ge=1)  # message, draft and audit texts older than this are emptied by the worker
    archive_secret: str = ""  # the chat archive's (会话内容存档) Secret
    archive_private_key: Annotated[dict[int, Path], NoDecode] = {}  # by publickey_ver; 0: one PEM for every version
    archive_poll_seconds: float = Field(15.0, gt=0)  # the worker pulls the archive this often (and on msgaudit_notify)
    archive_timeout_seconds: int = Field(10, ge=1, le=300)  # GetChatData's own timeout; a guard stops waiting a little later
    archive_proxy: str = ""  # GetChatData's proxy (e.g. http://10.0.0.1:3128) and its user:password
    archive_proxy_password: str = ""
    archive_sdk: Path | None = None  # libWeWorkFinanceSdk_C.so: set it to pull the chat archive (checked last: needs the above)

    @field_validator("approvers", "admins", mode="before")
    @classmethod
    def _split_list(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _check_proxies(cls, value: object) -> object:
        import ipaddress

        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        for part in value if isinstance(value, list) else []:
            try:
                ipaddress.ip_network(part, strict=False)
            except ValueError:
                raise ValueError(f"expected IP addresses or CIDR ranges separated by commas, got {part!r}") from None
        return value

    @field_validator("kf_staff", mode="before")
    @classmethod
    def _split_pairs(cls, value: object) -> object:
        if isinstance(value, str):
            pairs = {}
            for part in filter(None, (p.strip() for p in value.split(","))):
                kf, sep, staff = part.partition("=")
                if not sep or not kf.strip() or not staff.strip():
                    raise ValueError(f"expected kf_account=userid pairs separated by commas, got {part!r}")
                pairs[kf.strip()] = staff.strip()
            return pairs
        return value

    @field_validator("archive_private_key", mode="before")
    @classmethod
    def _archive_keys(cls, value: object) -> object:
        """`/keys/v1.pem` (every version) or `1=/keys/v1.pem,2=/keys/v2.pem`; each file an RSA private key in PEM."""
        if not isinstance(value, str):
            return value
        keys: dict[int, Path] = {}
        for part in filter(None, (p.strip() for p in value.split(","))):
            number, sep, where = part.partition("=") if "=" in part else ("0", "", part)
            if sep and not number.strip().isdigit():
                raise ValueError(f"expected a PEM path, or publickey_ver=path pairs separated by commas, got {part!r}")
            keys[int(number.strip() or 0)] = Path(where.strip())
        for version, path in keys.items():
            _check_rsa_key(path, version)
        return keys

    @field_validator("archive_sdk")
    @classmethod
    def _check_archive_sdk(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        if value is None or not str(value):
            return None
        if not value.is_file():
            raise ValueError(f"no file {str(value)!r} (libWeWorkFinanceSdk_C.so, from WeCom's 会话内容存档 download)")
        missing = [f"DRAFTBOT_{name.upper()}" for name in ("wecom_corp_id", "archive_secret", "archive_private_key")
                   if not info.data.get(name)]
        if missing:
            raise ValueError(f"the chat archive also needs {', '.join(missing)}")
        return value

    @field_validator("quiet_hours")
    @classmethod
    def _check_quiet_hours(cls, value: str) -> str:
        if value and not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d", value):
            raise ValueError("expected HH:MM-HH:MM, e.g. 21:00-09:00 (empty: no quiet hours)")
        return value

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (e.g. Asia/Shanghai)") from None
        return value

    @field_validator("wecom_aes_key")
    @classmethod
    def _check_aes_key(cls, value: str) -> str:
        if not value:
            return value
        if len(value) != 43:
            raise ValueError(f"EncodingAESKey must be 43 characters, got {len(value)}")
        try:
            key = base64.b64decode(value + "=", validate=True)
        except binascii.Error:
            raise ValueError("EncodingAESKey must contain only letters and digits (base64)") from None
        if len(key) != 32:
            raise ValueError("EncodingAESKey does not decode to a 32-byte key")
        return value

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            url = make_url(value)
        except ArgumentError:
            raise ValueError(f"not a database URL: {value!r} (try sqlite:///var/draftbot.db)") from None
        if url.get_backend_name() not in ("sqlite", "postgresql"):
            raise ValueError(f"unsupported database {url.get_backend_name()!r}: use sqlite or postgresql")
        if url.get_backend_name() == "postgresql" and url.drivername == "postgresql":
            value = url.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
        return value

    @field_validator("orders_url")
    @classmethod
    def _check_orders_url(cls, value: str) -> str:
        if not value:
            return value
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        if "{order_no}" not in value:
            raise ValueError("must contain {order_no}, e.g. https://oms.example/api/orders/{order_no}")
        try:
            value.format(order_no="1")
        except (KeyError, IndexError, ValueError):
            raise ValueError("may contain no braces but {order_no}") from None
        return value

    @field_validator("wecom_api_base")
    @classmethod
    def _check_api_base(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value if value.endswith("/") else value + "/"

    @property
    def callback_configured(self) -> bool:
        """True when the callback crypto (corp id, Token, EncodingAESKey) is set."""
        return bool(self.wecom_corp_id and self.wecom_token and self.wecom_aes_key)

    @property
    def demo_enabled(self) -> bool:
        """Serve the demo page: DRAFTBOT_DEMO when given, else only while no WeCom corp is configured."""
        if self.demo is not None:
            return self.demo
        return not (self.wecom_corp_id or self.callback_configured or self.api_configured)

    @property
    def api_configured(self) -> bool:
        """True when the WeCom API can be called (corp id and app secret)."""
        return bool(self.wecom_corp_id and self.wecom_secret)

    @property
    def archive_configured(self) -> bool:
        """True when the chat archive is pulled (DRAFTBOT_ARCHIVE_SDK and what it needs are set)."""
        return self.archive_sdk is not None

    @property
    def kf_secret(self) -> str:
        return self.wecom_kf_secret or self.wecom_secret


def _check_rsa_key(path: Path, version: int) -> None:
    """Refuse a key file that is missing or not an RSA private key in PEM (named with its publickey_ver)."""
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    which = f"the key of publickey_ver {version}" if version else "the key"
    try:
        key = load_pem_private_key(path.read_bytes(), password=None)
    except OSError as exc:
        raise ValueError(f"{which} {str(path)!r} cannot be read ({exc.strerror or type(exc).__name__})") from None
    except (ValueError, TypeError):
        raise ValueError(f"{which} {str(path)!r} is not an unencrypted private key in PEM") from None
    if not isinstance(key, RSAPrivateKey):
        raise ValueError(f"{which} {str(path)!r} is not an RSA key")


def get_settings(**overrides: Any) -> Settings:
    """Build and validate settings; raise SettingsError naming each bad variable."""
    try:
        return Settings(**overrides)  # pydantic validates each override as it does the variables
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else "?"
            message = error["msg"].removeprefix("Value error, ")
            problems.append(f"DRAFTBOT_{field.upper()}: {message}")
        raise SettingsError("; ".join(problems)) from None
