"""The JWT a production connection uses: its expiry, and renewing it through a token provider.

The JS SDK 2.9 never reads or refreshes its token (Part A §2, §3.9). This client reads ``exp``
(reported as the session expiration) and, given a provider, fetches a fresh token shortly before
``exp`` and again whenever the coordinator answers 401, so a long session keeps working.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

from reactor_web.client.auth import jwt_expiry
from reactor_web.client.errors import ErrorCode, ReactorError

logger = logging.getLogger(__name__)

TokenProvider = Callable[[], Awaitable[str]]

#: Renew this long before ``exp`` at most, and at most this fraction of the token's lifetime before it
#: (a 60 s test token is renewed 6 s early, a 6 h production token 30 s early).
REFRESH_LEAD_MAX_S = 30.0
REFRESH_LEAD_FRACTION = 0.1
#: After a failed renewal, try again this often (while the old token is still valid).
REFRESH_RETRY_S = 5.0


class TokenListener(Protocol):
    """What a :class:`TokenManager` tells its owner."""

    def on_expiration(self, expiration: float | None) -> None:
        """The token's ``exp`` (seconds since the epoch) changed; None once closed."""

    def on_renewal_failed(self, error: ReactorError) -> None:
        """A background renewal failed (the old token is kept while it is valid)."""


class TokenManager:
    """Holds the current token; owns the renewal task (:meth:`start_refresh` … :meth:`aclose`).

    ``listener`` hears of each new ``exp`` (and None on close) and of a failed background renewal. Renewals
    are single-flight: concurrent 401s share one provider call.
    """

    def __init__(self, token: str | None, provider: TokenProvider | None, listener: TokenListener) -> None:
        self._provider = provider
        self._listener = listener
        self._token: str | None = None
        self._expiration: float | None = None
        self._issued_at = 0.0
        self._renewal: asyncio.Task[str] | None = None
        self._refresher: asyncio.Task[None] | None = None
        if token is not None:
            self._set(token)

    @property
    def token(self) -> str | None:
        return self._token

    @property
    def expiration(self) -> float | None:
        """The token's ``exp`` in seconds since the epoch; None when unknown."""
        return self._expiration

    @property
    def can_renew(self) -> bool:
        return self._provider is not None

    async def obtain(self) -> str:
        """The token, asking the provider for one when none was given."""
        if self._token is None:
            return await self.renew()
        return self._token

    async def renew(self) -> str:
        """A fresh token from the provider; raises ReactorError when there is none or it fails."""
        if self._provider is None:
            raise ReactorError(
                ErrorCode.AUTHENTICATION_FAILED,
                "The token was refused and there is no token provider to renew it",
                component="coordinator",
                recoverable=False,
            )
        if self._renewal is None or self._renewal.done():
            self._renewal = asyncio.ensure_future(self._provider())
        # Shielded: one caller giving up must not cancel the renewal the others wait for.
        token = await asyncio.shield(self._renewal)
        if token != self._token:
            self._set(token)
        return token

    def start_refresh(self) -> None:
        if self._provider is not None and self._refresher is None:
            self._refresher = asyncio.ensure_future(self._refresh_loop())

    async def aclose(self) -> None:
        """Stop renewing; the expiration becomes None (emitted when it was known)."""
        tasks = [t for t in (self._refresher, self._renewal) if t is not None and t is not asyncio.current_task()]
        self._refresher = self._renewal = None
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._expiration is not None:
            self._expiration = None
            self._listener.on_expiration(None)

    def _set(self, token: str) -> None:
        self._token = token
        self._issued_at = time.time()
        expiration = jwt_expiry(token)
        if expiration != self._expiration:
            self._expiration = expiration
            self._listener.on_expiration(expiration)

    async def _refresh_loop(self) -> None:
        while (expiration := self._expiration) is not None:
            lead = min(REFRESH_LEAD_MAX_S, (expiration - self._issued_at) * REFRESH_LEAD_FRACTION)
            # A timer, not a poll: nothing else signals that the token is about to expire.
            await asyncio.sleep(max(0.0, expiration - lead - time.time()))
            try:
                await self.renew()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._listener.on_renewal_failed(renewal_error(exc))
                remaining = expiration - time.time()
                if remaining <= 0:
                    return  # expired: the next 401 asks the provider again
                await asyncio.sleep(min(REFRESH_RETRY_S, remaining / 2))
                continue
            if self._expiration is not None and self._expiration <= expiration:
                # The provider handed back a token that expires no later: renewing again would spin.
                logger.warning("the token provider returned a token that does not outlive the old one")
                return


def renewal_error(exc: Exception) -> ReactorError:
    """A failed background renewal: recoverable, since the old token may still be valid for a while."""
    if isinstance(exc, ReactorError):
        return exc
    detail = str(exc) or type(exc).__name__
    return ReactorError(
        ErrorCode.AUTHENTICATION_FAILED, f"Failed to renew the token: {detail}", component="coordinator"
    )
