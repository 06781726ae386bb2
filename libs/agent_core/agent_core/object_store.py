"""The object store: the one durable bucket the stack keeps beside Temporal.

Three things live in it, each under its own key prefix: payloads too large for
Temporal's history (Temporal's External Storage, through the SDK's own
``S3StorageDriver``), the transcript pages a long conversation archived, and
the side-effect ledger. ``make run`` keeps it in a directory
(``STORAGE_URL=file:...``); compose (MinIO) and Helm (S3) keep it in a bucket
(``STORAGE_URL=s3://bucket``). Both speak the SDK's ``S3StorageDriverClient``
interface, so the S3 driver serves either, plus two calls of their own:
``read`` (``None`` for a missing key) and ``create`` (write unless present,
atomically: what makes a ledger record once-only).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from abc import abstractmethod
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from aiobotocore.session import get_session
from botocore.exceptions import ClientError
from pydantic import SecretStr
from temporalio.contrib.aws.s3driver import S3StorageDriverClient

from agent_core.settings import Settings

__all__ = ["FileObjectStore", "ObjectStore", "S3ObjectStore", "open_object_store"]


class ObjectStore(S3StorageDriverClient):
    """A bucket of objects addressed by key; ``bucket`` is the one it writes to."""

    def __init__(self, bucket: str) -> None:
        self.bucket = bucket

    @abstractmethod
    async def read(self, key: str) -> bytes | None:
        """The object at ``key``, or ``None`` when there is none (one request)."""

    async def write(self, key: str, data: bytes) -> None:
        await self.put_object(bucket=self.bucket, key=key, data=data)

    @abstractmethod
    async def create(self, key: str, data: bytes) -> bool:
        """Write ``data`` at ``key`` unless an object is there; ``False`` if one was."""


class FileObjectStore(ObjectStore):
    """A directory as the bucket: keys are paths under it, each object written
    whole or not at all (a temporary file moved into place), off the event loop."""

    def __init__(self, root: Path) -> None:
        super().__init__(root.name or "objects")
        self.root = root

    @classmethod
    def at(cls, directory: str) -> FileObjectStore:
        """The store in ``directory`` (relative to the working directory), created."""
        root = Path(directory).expanduser().absolute()
        root.mkdir(parents=True, exist_ok=True)
        return cls(root)

    def _path(self, key: str) -> Path:
        """Each segment percent-encoded, dots too: no key reaches outside the root."""
        return self.root.joinpath(*(_segment(part) for part in key.split("/")))

    async def object_exists(self, *, bucket: str, key: str) -> bool:
        return await asyncio.to_thread(self._path(key).is_file)

    async def get_object(self, *, bucket: str, key: str) -> bytes:
        return await asyncio.to_thread(self._path(key).read_bytes)

    async def read(self, key: str) -> bytes | None:
        try:
            return await self.get_object(bucket=self.bucket, key=key)
        except FileNotFoundError:
            return None

    async def put_object(self, *, bucket: str, key: str, data: bytes) -> None:
        await asyncio.to_thread(self._place, key, data, os.replace)

    async def create(self, key: str, data: bytes) -> bool:
        return await asyncio.to_thread(self._place, key, data, os.link)

    def _place(self, key: str, data: bytes, move: Callable[[str, Path], None]) -> bool:
        """Write a temporary file, then ``move`` it to the key: ``os.replace``
        overwrites, ``os.link`` fails when the key exists (the first writer wins)."""
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".part-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            move(tmp, path)
        except FileExistsError:
            return False
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        return True

    def describe(self) -> dict[str, str]:
        return {"directory": str(self.root)}


def _segment(part: str) -> str:
    if part in ("", ".", ".."):
        return "%2E" * len(part) or "%"
    return quote(part, safe="")


class S3ObjectStore(ObjectStore):
    """An S3 (or MinIO) bucket through an aiobotocore client."""

    def __init__(self, client: Any, bucket: str) -> None:
        super().__init__(bucket)
        self._client = client

    async def object_exists(self, *, bucket: str, key: str) -> bool:
        try:
            await self._client.head_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            if _status(exc) == 404:
                return False
            raise
        return True

    async def get_object(self, *, bucket: str, key: str) -> bytes:
        response = await self._client.get_object(Bucket=bucket, Key=key)
        async with response["Body"] as body:
            return await body.read()

    async def read(self, key: str) -> bytes | None:
        try:
            return await self.get_object(bucket=self.bucket, key=key)
        except ClientError as exc:
            if _status(exc) == 404:
                return None
            raise

    async def put_object(self, *, bucket: str, key: str, data: bytes) -> None:
        await self._client.put_object(Bucket=bucket, Key=key, Body=data)

    async def create(self, key: str, data: bytes) -> bool:
        try:  # a conditional write: S3 and MinIO refuse it (412) when the key exists
            await self._client.put_object(Bucket=self.bucket, Key=key, Body=data, IfNoneMatch="*")
        except ClientError as exc:
            if _status(exc) in (409, 412):
                return False
            raise
        return True

    def describe(self) -> dict[str, str]:
        region = self._client.meta.region_name
        return {"client_region": region} if region else {}


def _status(exc: ClientError) -> int | None:
    return exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")


@contextlib.asynccontextmanager
async def open_object_store(settings: Settings) -> AsyncIterator[ObjectStore]:
    """The store ``STORAGE_URL`` names, open for the life of the service."""
    url = urlsplit(settings.storage_url)
    if url.scheme == "file":
        yield await asyncio.to_thread(FileObjectStore.at, url.netloc + url.path)
        return
    session = get_session()
    async with session.create_client(
        "s3",
        region_name=settings.storage_s3_region,
        endpoint_url=settings.storage_s3_endpoint_url,
        aws_access_key_id=_secret(settings.storage_s3_access_key_id),
        aws_secret_access_key=_secret(settings.storage_s3_secret_access_key),
    ) as client:
        yield S3ObjectStore(client, url.netloc)


def _secret(value: SecretStr | None) -> str | None:
    """None leaves the credential to boto's own chain (an IAM role, a profile)."""
    return value.get_secret_value() if value is not None else None
