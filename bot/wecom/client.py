"""The WeCom HTTP API client: base URL from settings, explicit timeouts, gettoken that follows the base URL."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import requests
from wechatpy.enterprise import WeChatClient
from wechatpy.exceptions import WeChatClientException

from bot.errors import WeComError

_TOKEN_ERRCODES = frozenset({40001, 40014, 42001})  # invalid credential, invalid or expired token


class _Client(WeChatClient):
    """wechatpy's client with a per-instance base URL, also used for gettoken, and a timeout on it."""

    def __init__(self, *, corp_id: str, secret: str, api_base: str, timeout: float) -> None:
        # wechatpy's auto_retry refetches the token without limit; WeComClient retries once instead.
        super().__init__(corp_id, secret, timeout=timeout, auto_retry=False)
        self.API_BASE_URL = api_base

    def fetch_access_token(self) -> dict:
        response = self._http.get(
            f"{self.API_BASE_URL}gettoken",
            params={"corpid": self.corp_id, "corpsecret": self.secret},
            timeout=self.timeout,
        )
        response.raise_for_status()
        result = response.json()
        if result.get("errcode"):
            raise WeChatClientException(result["errcode"], result.get("errmsg", ""), client=self)
        expires_in = int(result.get("expires_in", 7200))
        self.session.set(self.access_token_key, result["access_token"], expires_in)
        self.expires_at = int(time.time()) + expires_in
        return result


class WeComClient:
    """Calls WeCom endpoints (POST JSON or GET); every failure becomes a WeComError (errcode None = unreachable)."""

    def __init__(self, *, corp_id: str, secret: str, api_base: str, timeout: float) -> None:
        self._client = _Client(corp_id=corp_id, secret=secret, api_base=api_base, timeout=timeout)

    def post(self, endpoint: str, payload: dict) -> dict:
        """Call `endpoint` (e.g. "kf/send_msg") and return WeCom's JSON answer (errcode 0).

        A rejected access token is refetched once and the call repeated once.
        """
        try:
            return self._call(lambda: self._client.post(endpoint, data=payload))
        except WeComError as exc:
            if exc.errcode not in _TOKEN_ERRCODES:
                raise
        self._call(self._client.fetch_access_token)
        return self._call(lambda: self._client.post(endpoint, data=payload))

    def get(self, endpoint: str, params: dict | None = None) -> dict:
        """GET `endpoint` (e.g. "auth/getuserinfo") with query `params`; errors and token refetch as in post()."""
        # A fresh dict per attempt: wechatpy adds access_token to it, and a retry needs the new token.
        try:
            return self._call(lambda: self._client.get(endpoint, params=dict(params or {})))
        except WeComError as exc:
            if exc.errcode not in _TOKEN_ERRCODES:
                raise
        self._call(self._client.fetch_access_token)
        return self._call(lambda: self._client.get(endpoint, params=dict(params or {})))

    def close(self) -> None:
        self._client._http.close()

    def _call(self, request: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        try:
            result = request()
        except WeChatClientException as exc:
            if exc.errcode is None:
                status = getattr(exc.response, "status_code", None)
                raise WeComError(None, f"HTTP {status} from WeCom") from None
            raise WeComError(int(exc.errcode), str(exc.errmsg)) from None
        except requests.RequestException as exc:
            raise WeComError(None, f"WeCom unreachable: {type(exc).__name__}") from None
        if not isinstance(result, dict):
            raise WeComError(None, "WeCom answered something that is not JSON")
        return result
