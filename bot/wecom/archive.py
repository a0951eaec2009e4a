"""The chat archive (会话内容存档): WeCom's native SDK through ctypes, the RSA keys, and the messages it holds.

WeCom ships the archive as a C library, ``libWeWorkFinanceSdk_C.so`` (header ``WeWorkFinanceSdk_C.h``).
`FinanceSdk` loads it from a path and calls its documented functions with exact argument and result
types; every call runs in one helper thread and is waited for at most the SDK's own timeout plus
`GUARD_SECONDS`, so a library that never returns costs a bounded wait (and refuses further calls until
it does) instead of a worker that hangs. `ArchiveKeys` decrypts each item's ``encrypt_random_key``
(RSA PKCS#1 v1.5, the private key of its ``publickey_ver``); the SDK's ``DecryptData`` then gives the
message JSON, which `parse_message` reads into an `ArchiveMessage`.
"""

from __future__ import annotations

import base64
import binascii
import ctypes
import json
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from bot.errors import ArchiveError

GUARD_SECONDS = 5.0  # waited beyond the SDK's own timeout before a call counts as hung
MAX_LIMIT = 1000  # GetChatData returns at most this many items a call

# The SDK's error codes and what they mean (WeWorkFinanceSdk_C.h).
ERRORS = {
    10000: "参数错误",
    10001: "网络错误",
    10002: "数据解析失败",
    10003: "系统失败",
    10004: "密钥错误导致加密失败",
    10005: "fileid错误",
    10006: "解密失败",
    10007: "找不到消息加密版本的私钥，需要重新传入私钥对",
    10008: "解析encrypt_key出错",
    10009: "ip非法",
    10010: "数据过期",
    10011: "证书错误",
}

T = TypeVar("T")


def error_meaning(code: int | None) -> str:
    """What an SDK return code means, in Chinese; e.g. 10001 → 网络错误."""
    if code is None:
        return "会话存档接口没有在限定时间内返回"
    return ERRORS.get(code, "未知错误")


def archive_error(code: int | None, doing: str) -> ArchiveError:
    """The error of a failed SDK call: "GetChatData 返回 10001（网络错误）"."""
    return ArchiveError(code, f"{doing} 返回 {code}（{error_meaning(code)}）" if code is not None else f"{doing}：{error_meaning(None)}")


class Slice(ctypes.Structure):
    """Slice_t: a buffer the SDK fills (`buf`, `len`)."""

    _fields_ = [("buf", ctypes.c_char_p), ("len", ctypes.c_int)]


SlicePointer = ctypes.POINTER(Slice)


def load_library(path: Path) -> ctypes.CDLL:
    """Load the SDK and declare the argument and result types of every function draftbot calls."""
    try:
        lib = ctypes.CDLL(str(path))
    except OSError as exc:
        raise ArchiveError(None, f"会话存档 SDK {path} 无法加载：{exc}") from None
    signatures: dict[str, tuple[list[Any], Any]] = {
        "NewSdk": ([], ctypes.c_void_p),
        "Init": ([ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p], ctypes.c_int),
        "GetChatData": ([ctypes.c_void_p, ctypes.c_ulonglong, ctypes.c_uint, ctypes.c_char_p, ctypes.c_char_p,
                         ctypes.c_int, SlicePointer], ctypes.c_int),
        "DecryptData": ([ctypes.c_char_p, ctypes.c_char_p, SlicePointer], ctypes.c_int),
        "DestroySdk": ([ctypes.c_void_p], None),
        "NewSlice": ([], SlicePointer),
        "FreeSlice": ([SlicePointer], None),
        "GetContentFromSlice": ([SlicePointer], ctypes.c_void_p),  # a pointer, read with its length (not up to a NUL)
        "GetSliceLen": ([SlicePointer], ctypes.c_int),
    }
    for name, (argtypes, restype) in signatures.items():
        try:
            function = getattr(lib, name)
        except AttributeError:
            raise ArchiveError(None, f"会话存档 SDK {path} 没有函数 {name}：不是 libWeWorkFinanceSdk_C.so？") from None
        function.argtypes = argtypes
        function.restype = restype
    return lib


class FinanceSdk:
    """One initialised SDK instance (NewSdk + Init); `get_chat_data` and `decrypt` are bounded in time."""

    def __init__(self, path: Path, *, corp_id: str, secret: str, timeout: int = 10,
                 proxy: str = "", proxy_password: str = "") -> None:
        self.path = path
        self.timeout = timeout
        self.proxy = proxy
        self.proxy_password = proxy_password
        self._lib = load_library(path)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="draftbot-archive-sdk")
        self._running: Future[Any] | None = None
        self._lock = threading.Lock()
        self._sdk = self._guarded(self._lib.NewSdk, doing="NewSdk")
        if not self._sdk:
            raise ArchiveError(None, "NewSdk 没有返回 SDK 实例")
        code = self._guarded(lambda: self._lib.Init(self._sdk, corp_id.encode(), secret.encode()), doing="Init")
        if code != 0:
            self.close()
            raise archive_error(code, "Init")

    def get_chat_data(self, seq: int, limit: int = MAX_LIMIT) -> list[dict[str, Any]]:
        """The items after `seq` (at most `limit`), each {"seq", "msgid", "publickey_ver", "encrypt_random_key", "encrypt_chat_msg"}."""
        def call() -> tuple[int, bytes]:
            return self._with_slice(lambda out: self._lib.GetChatData(
                self._sdk, seq, min(limit, MAX_LIMIT), self.proxy.encode(), self.proxy_password.encode(), self.timeout, out))

        code, raw = self._guarded(call, doing="GetChatData")
        if code != 0:
            raise archive_error(code, "GetChatData")
        try:
            answer = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise ArchiveError(10002, "GetChatData 返回的不是 JSON（数据解析失败）") from None
        if not isinstance(answer, dict):
            raise ArchiveError(10002, "GetChatData 返回的不是 JSON 对象（数据解析失败）")
        if answer.get("errcode"):
            raise ArchiveError(int(answer["errcode"]), f"GetChatData：企业微信返回 {answer.get('errcode')}（{answer.get('errmsg', '')}）")
        items = answer.get("chatdata") or []
        return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []

    def decrypt(self, encrypt_key: str, encrypt_msg: str) -> dict[str, Any]:
        """DecryptData: the message JSON of one item, with the key its encrypt_random_key gave."""
        def call() -> tuple[int, bytes]:
            return self._with_slice(lambda out: self._lib.DecryptData(encrypt_key.encode(), encrypt_msg.encode(), out))

        code, raw = self._guarded(call, doing="DecryptData")
        if code != 0:
            raise archive_error(code, "DecryptData")
        try:
            message = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise ArchiveError(10006, "DecryptData 解出的不是 JSON（解密失败）") from None
        if not isinstance(message, dict):
            raise ArchiveError(10006, "DecryptData 解出的不是 JSON 对象（解密失败）")
        return message

    def close(self) -> None:
        """DestroySdk (unless a call is still running in the library: then the process's end frees it)."""
        with self._lock:
            if self._sdk and (self._running is None or self._running.done()):
                self._lib.DestroySdk(self._sdk)
                self._sdk = None
        self._executor.shutdown(wait=False)

    def _with_slice(self, call: Callable[[Any], int]) -> tuple[int, bytes]:
        out = self._lib.NewSlice()
        try:
            code = call(out)
            length = self._lib.GetSliceLen(out)
            pointer = self._lib.GetContentFromSlice(out)
            return code, ctypes.string_at(pointer, length) if pointer and length > 0 else b""
        finally:
            self._lib.FreeSlice(out)

    def _guarded(self, call: Callable[[], T], *, doing: str) -> T:
        """Run `call` in the SDK's thread; give up waiting after the SDK's timeout plus GUARD_SECONDS."""
        with self._lock:
            if self._running is not None and not self._running.done():
                raise ArchiveError(None, f"{doing}：上一次调用还没有从会话存档 SDK 返回")
            future = self._executor.submit(call)
            self._running = future
        try:
            return future.result(timeout=self.timeout + GUARD_SECONDS)
        except FutureTimeout:
            raise ArchiveError(None, f"{doing} 超过 {self.timeout + GUARD_SECONDS:.0f} 秒没有返回") from None


@dataclass(frozen=True)
class ArchiveKeys:
    """The brand's RSA private keys by publickey_ver (0: one key for every version)."""

    keys: Mapping[int, RSAPrivateKey]

    @classmethod
    def load(cls, paths: Mapping[int, Path]) -> "ArchiveKeys":
        keys = {}
        for version, path in paths.items():
            key = load_pem_private_key(path.read_bytes(), password=None)
            if not isinstance(key, RSAPrivateKey):
                raise ArchiveError(None, f"{path} 不是 RSA 私钥")
            keys[version] = key
        return cls(keys)

    def has(self, version: int) -> bool:
        return version in self.keys or 0 in self.keys

    def message_key(self, version: int, encrypt_random_key: str) -> str:
        """The encrypt_key for DecryptData: encrypt_random_key (base64) decrypted with the key of `version`.

        Raises `MissingKey` when no key of that version is configured, ArchiveError when it does not decrypt.
        """
        key = self.keys.get(version) or self.keys.get(0)
        if key is None:
            raise MissingKey(version)
        try:
            return key.decrypt(base64.b64decode(encrypt_random_key, validate=True), padding.PKCS1v15()).decode("utf-8")
        except (binascii.Error, ValueError, UnicodeDecodeError):
            raise ArchiveError(10006, f"publickey_ver {version} 的私钥解不开 encrypt_random_key（私钥与公钥不是一对？）") from None


class MissingKey(ArchiveError):
    """No private key of this publickey_ver is configured: the item waits until one is."""

    PREFIX = "没有 publickey_ver"  # how its message starts (held items are told apart by it)

    def __init__(self, version: int) -> None:
        self.version = version
        super().__init__(10007, f"没有 publickey_ver {version} 的私钥（{ERRORS[10007]}）：请在 DRAFTBOT_ARCHIVE_PRIVATE_KEY 中加上 {version}=私钥文件")


@dataclass(frozen=True)
class ArchiveMessage:
    """One archived chat message: who sent it to whom, in which group, and its text (for text messages)."""

    msgid: str
    action: str  # send | recall | switch
    sender: str
    tolist: tuple[str, ...]
    room_id: str
    msgtime: int  # milliseconds since the epoch
    msgtype: str
    text: str = ""
    mentions: tuple[str, ...] = field(default=())  # "@name" words of a text, without the @

    @property
    def from_customer(self) -> bool:
        return is_external(self.sender)


def is_external(userid: str) -> bool:
    """An external contact (a customer): WeCom's external userids start with wm or wo; staff userids do not."""
    return userid.startswith(("wm", "wo"))


def parse_message(data: Mapping[str, Any], *, msgid: str = "") -> ArchiveMessage:
    """Read DecryptData's JSON; fields of the wrong type read as empty."""
    def text_of(value: object) -> str:
        return value if isinstance(value, str) else ""

    msgtype = text_of(data.get("msgtype"))
    content = ""
    if msgtype == "text" and isinstance(data.get("text"), dict):
        content = text_of(data["text"].get("content"))
    tolist = data.get("tolist")
    return ArchiveMessage(
        msgid=text_of(data.get("msgid")) or msgid,
        action=text_of(data.get("action")) or "send",
        sender=text_of(data.get("from")),
        tolist=tuple(t for t in tolist if isinstance(t, str)) if isinstance(tolist, list) else (),
        room_id=text_of(data.get("roomid")),
        msgtime=data["msgtime"] if isinstance(data.get("msgtime"), int) else 0,
        msgtype=msgtype,
        text=content,
        mentions=mentions(content),
    )


def mentions(text: str) -> tuple[str, ...]:
    """The names @-ed in a text: "@张三 在吗" → ("张三",). A name ends at a space (WeCom puts one after it)."""
    found = []
    for part in text.replace("\u2005", " ").split("@")[1:]:
        name = part.split(" ", 1)[0].strip()
        if name:
            found.append(name)
    return tuple(dict.fromkeys(found))
