"""Security names for the node's export files.

Orders, trades and positions carry codes, not names. A node with a cloud link
asks the cloud's quote API (``GET /api/quotes/{code}``, the same quotes its
paper broker trades on) and remembers the answers. A name it cannot get is
left out: the export then has an empty 证券名称, never an invented one.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Awaitable, Callable, Collection, Mapping
from pathlib import Path

import httpx

from aigupiao.core import jsontext

log = logging.getLogger(__name__)

# Prefixed codes (``sh600519``) -> the names known for them.
NameSource = Callable[[Collection[str]], Awaitable[Mapping[str, str]]]


class CloudNames:
    """A :data:`NameSource` backed by the cloud's quote API, authenticated with the node token."""

    def __init__(
        self, api_url: str, token: str, *, ca_file: Path | None = None, timeout: float = 3.0
    ) -> None:
        self._api_url = api_url
        self._token = token
        self._verify: ssl.SSLContext | bool = (
            ssl.create_default_context(cafile=ca_file) if ca_file is not None else True
        )
        self._timeout = timeout
        self._names: dict[str, str] = {}

    async def __call__(self, codes: Collection[str]) -> Mapping[str, str]:
        missing = sorted(set(codes) - self._names.keys())
        if missing:
            async with httpx.AsyncClient(
                base_url=self._api_url,
                headers={"Authorization": f"Bearer {self._token}"},
                timeout=self._timeout,
                verify=self._verify,
            ) as client:
                await asyncio.gather(*(self._fetch(client, code) for code in missing))
        return {code: self._names[code] for code in codes if code in self._names}

    async def _fetch(self, client: httpx.AsyncClient, code: str) -> None:
        try:
            response = await client.get(f"/api/quotes/{code}")
            if response.status_code != 200:
                return
            name = jsontext.loads(response.content).get("name")  # depth-limited
        except (httpx.HTTPError, ValueError, AttributeError) as exc:
            log.info("no name for %s from the cloud: %s", code, exc)
            return
        if isinstance(name, str) and name.strip():
            self._names[code] = name.strip()
