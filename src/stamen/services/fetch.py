"""Fetch an input URL to a local file: streamed, size- and time-limited, refusing private hosts
(unless allowed) on every redirect hop."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx

from stamen.errors import RunFailure
from stamen.net import check_public_host

MAX_REDIRECTS = 5


async def fetch_to_file(
    url: str, target: Path, *, max_bytes: int, timeout: float, allow_private: bool
) -> tuple[int, str | None]:
    """Download `url` into `target`; returns (size, Content-Type). Failures → RunFailure."""
    async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client:
        for _ in range(MAX_REDIRECTS + 1):
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise RunFailure("input_unreachable", f"not an http(s) URL: {url[:200]}")
            if not allow_private and (problem := check_public_host(parts.hostname)):
                raise RunFailure("input_unreachable", f"refusing to fetch {parts.hostname}: {problem}")
            try:
                async with client.stream("GET", url) as response:
                    if response.is_redirect and "location" in response.headers:
                        url = urljoin(url, response.headers["location"])
                        continue
                    if response.status_code != 200:
                        raise RunFailure(
                            "input_unreachable", f"fetching {url[:200]} returned HTTP {response.status_code}"
                        )
                    declared = response.headers.get("content-length")
                    if declared and declared.isdigit() and int(declared) > max_bytes:
                        raise RunFailure("media_too_large", f"{url[:200]} is larger than {max_bytes} bytes")
                    size = 0
                    with open(target, "wb") as out:
                        async for chunk in response.aiter_bytes(1024 * 1024):
                            size += len(chunk)
                            if size > max_bytes:
                                raise RunFailure("media_too_large", f"{url[:200]} is larger than {max_bytes} bytes")
                            out.write(chunk)
                    return size, response.headers.get("content-type")
            except httpx.HTTPError as error:
                raise RunFailure("input_unreachable", f"could not fetch {url[:200]}: {type(error).__name__}") from error
        raise RunFailure("input_unreachable", f"too many redirects fetching {url[:200]}")
