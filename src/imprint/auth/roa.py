"""ROA HMAC-SHA1 signatures: ``Authorization: acs <AccessKeyId>:<base64 signature>``."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime

from imprint.auth.canonical import sorted_params
from imprint.auth.errors import INCOMPLETE_SIGNATURE, INVALID_SIGNATURE_METHOD, AuthError
from imprint.auth.timestamps import parse_http_date
from imprint.auth.verifier import Candidate, SignedRequest, Verifier

SCHEME = "acs"
_EXPECTED = {"x-acs-signature-method": "HMAC-SHA1", "x-acs-signature-version": "1.0"}


class RoaVerifier(Verifier):
    def __init__(self, request: SignedRequest, credentials: str) -> None:
        access_key_id, sep, signature = credentials.strip().partition(":")
        if not sep or not access_key_id or not signature or " " in access_key_id:
            message = "The Authorization header must be 'acs <AccessKeyId>:<signature>'."
            raise AuthError(INCOMPLETE_SIGNATURE, message)
        super().__init__(request, access_key_id, signature)

    def check_structure(self) -> None:
        # Both SDKs always send these; an absent one is tolerated since "acs" itself implies HMAC-SHA1.
        for name, expected in _EXPECTED.items():
            value = self.request.headers.get(name)
            if value is not None and value != expected:
                raise AuthError(INVALID_SIGNATURE_METHOD, f"Specified {name} {value!r} is not supported.")

    def signed_at(self) -> datetime:
        return parse_http_date(self.request.headers.get("date"))

    def candidates(self, secret: str) -> list[Candidate]:
        request = self.request
        headers = request.headers
        content_types = [headers.get("content-type") or ""]
        # The async new SDK signs an empty Content-Type, then aiohttp sends application/octet-stream
        # with the empty body; an empty body has nothing to tamper with, so the retry is harmless.
        if not request.body and content_types[0]:
            content_types.append("")
        params = sorted_params(request.params())
        # The old SDK signs an empty value as "k=", the new SDK as "k"; the old form comes first so
        # the mismatch message matches what the old SDK (the only one that reads it) computed.
        resources = [self._resource(params, bare_empty=False)]
        if any(value == "" for _, value in params):
            resources.append(self._resource(params, bare_empty=True))
        head = "\n".join([request.method, headers.get("accept") or "", self._content_md5()])
        tail = f"{headers.get('date') or ''}\n{self._acs_headers()}"
        key = secret.encode("utf-8")
        candidates = []
        for content_type in content_types:
            for resource in resources:
                string_to_sign = f"{head}\n{content_type}\n{tail}{resource}"
                digest = hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha1).digest()
                candidates.append(Candidate(string_to_sign, base64.b64encode(digest).decode("ascii")))
        return candidates

    def _content_md5(self) -> str:
        # Our own MD5 replaces the client's header: a body changed in transit then fails the
        # signature, since the client signed the MD5 of the body it sent.
        if "content-md5" not in self.request.headers:
            return ""
        digest = hashlib.md5(self.request.body, usedforsecurity=False).digest()
        return base64.b64encode(digest).decode("ascii")

    def _acs_headers(self) -> str:
        headers = self.request.headers
        names = sorted(name for name in headers.names() if name.startswith("x-acs-"))
        return "".join(f"{name}:{headers.get(name)}\n" for name in names)

    def _resource(self, params: list[tuple[str, str]], *, bare_empty: bool) -> str:
        if not params:
            return self.request.path
        query = "&".join(name if bare_empty and value == "" else f"{name}={value}" for name, value in params)
        return f"{self.request.path}?{query}"
