"""The stand-in archive SDK for tests: compiled from fake_finance_sdk.c, fed by a script of encrypted items."""

from __future__ import annotations

import base64
import ctypes
import json
import os
import secrets
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

SOURCE = Path(__file__).resolve().parent / "fake_finance_sdk.c"
SCRIPT_VARIABLE = "DRAFTBOT_FAKE_ARCHIVE"


def compile_sdk(folder: Path) -> Path | None:
    """Build libWeWorkFinanceSdk_C.so from the stand-in's C source into `folder`; None without a C compiler."""
    compiler = shutil.which("gcc") or shutil.which("cc")
    if compiler is None:
        return None
    library = folder / "libWeWorkFinanceSdk_C.so"
    subprocess.run([compiler, "-shared", "-fPIC", "-O1", "-Wall", "-Werror", "-o", str(library), str(SOURCE)], check=True)
    return library


def new_key(folder: Path, name: str) -> tuple[rsa.RSAPublicKey, Path]:
    """A fresh RSA key pair; the private key written as PEM to folder/name."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = folder / name
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                       serialization.NoEncryption()))
    return key.public_key(), path


def cipher(message: dict, key: str) -> str:
    """The stand-in's DecryptData cipher: base64 of ("FAKE:" + JSON) XORed with the key."""
    plain = b"FAKE:" + json.dumps(message, ensure_ascii=False).encode()
    keyb = key.encode()
    return base64.b64encode(bytes(b ^ keyb[i % len(keyb)] for i, b in enumerate(plain))).decode()


@dataclass
class ArchiveScript:
    """The script file the stand-in SDK reads: items (encrypted as WeCom would), scripted errors and delay."""

    path: Path
    public_keys: dict[int, rsa.RSAPublicKey]
    lines: list[str] = field(default_factory=list)
    next_seq: int = 1

    def add(self, message: dict, *, version: int = 1, seq: int | None = None) -> int:
        """Append one message as an item encrypted with the public key of `version`; returns its seq."""
        seq = seq if seq is not None else self.next_seq
        self.next_seq = max(self.next_seq, seq + 1)
        random_key = secrets.token_hex(16)
        public = self.public_keys.get(version) or next(iter(self.public_keys.values()))
        item = {
            "seq": seq, "msgid": message["msgid"], "publickey_ver": version,
            "encrypt_random_key": base64.b64encode(public.encrypt(random_key.encode(), padding.PKCS1v15())).decode(),
            "encrypt_chat_msg": cipher(message, random_key),
        }
        self.lines.append(f"item {seq} {json.dumps(item)}")
        self.save()
        return seq

    def fail(self, call: int, code: int) -> None:
        """The call-th GetChatData of a process (0-based) returns `code`."""
        self.lines.append(f"error {call} {code}")
        self.save()

    def fail_next(self, library: Path, *codes: int) -> None:
        """The next GetChatData calls of this process return `codes`, one each (the library counts its calls)."""
        made = ctypes.CDLL(str(library)).FakeCalls()
        for offset, code in enumerate(codes):
            self.fail(made + offset, code)

    def delay(self, milliseconds: int) -> None:
        self.lines = [line for line in self.lines if not line.startswith("delay ")] + [f"delay {milliseconds}"]
        self.save()

    def save(self) -> None:
        self.path.write_text("\n".join(self.lines) + "\n")

    def activate(self) -> None:
        os.environ[SCRIPT_VARIABLE] = str(self.path)


_counter = [0]


def text_message(sender: str, to: list[str], text: str, *, room: str = "", msgid: str | None = None,
                 msgtime: int = 1_700_000_000_000, action: str = "send", msgtype: str = "text") -> dict:
    """A decrypted archive message as WeCom's DecryptData gives it."""
    _counter[0] += 1
    message: dict = {"msgid": msgid or f"m{_counter[0]}-{secrets.token_hex(4)}", "action": action, "from": sender,
                     "tolist": to, "roomid": room, "msgtime": msgtime, "msgtype": msgtype}
    if msgtype == "text":
        message["text"] = {"content": text}
    else:
        message[msgtype] = {"md5sum": "0" * 32, "sdkfileid": "fake"}
    return message
