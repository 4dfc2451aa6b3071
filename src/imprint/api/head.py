"""A request's ASGI scope with its headers decoded and indexed once, for every step after routing.

The signature check, the RAM context and the handler each read headers; decoding the raw list once
and looking names up in a dict is what both the router and the image fast path hand them, so the
two read exactly the same values.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.types import Scope

from imprint.auth.canonical import HeaderMap


@dataclass(frozen=True, slots=True)
class Head:
    scope: Scope
    headers: HeaderMap

    @classmethod
    def of(cls, scope: Scope) -> Head:
        return cls(scope, HeaderMap.from_asgi(scope["headers"]))

    def first(self, name: str) -> str | None:
        """The first value of a header, as ``starlette.Request.headers.get`` answers it."""
        values = self.headers.values(name)
        return values[0] if values else None
