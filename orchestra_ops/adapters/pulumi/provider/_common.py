"""What every Lambda dynamic provider shares: the client from settings, time, resource keys."""

from __future__ import annotations

import hashlib
import pickle
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from orchestra_ops.adapters.lambda_cloud import LambdaCloudClient
from orchestra_ops.domain.pending_ops import OWNER_TAG as OWNER_TAG  # one source
from orchestra_ops.domain.pending_ops import RESOURCE_TAG as RESOURCE_TAG
from orchestra_ops.settings import load_settings, require


@dataclass(frozen=True)
class Timing:
    """The provider's view of time; tests pass a fake clock whose sleep advances it."""

    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep


def resource_key(*parts: str) -> str:
    """A stable 32-hex key from the resource's identity (project, stack, type, name)."""
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:32]


def open_client(timing: Timing, timeout_s: float | None = None) -> LambdaCloudClient:
    """A client from LAMBDA_LABS_API_KEY / _API_URL / _TIMEOUT_S, read now (never pickled)."""
    settings = load_settings().lambda_cloud
    key = require(settings.api_key, "LAMBDA_LABS_API_KEY", "by the Lambda Cloud Pulumi provider")
    timeout_s = timeout_s or settings.timeout_s
    return LambdaCloudClient(settings.api_url, key, timeout_s=timeout_s, sleep=timing.sleep)


def text(props: dict[str, Any], key: str) -> str | None:
    """``props[key]`` as a non-empty string, or None."""
    value = props.get(key)
    return str(value) if value not in (None, "") else None


def strings(props: dict[str, Any], key: str) -> tuple[str, ...]:
    """``props[key]`` as a tuple of strings (missing: empty)."""
    value = props.get(key) or ()
    return tuple(str(v) for v in value)


PROVIDER_KEY = "__provider"
"""The input where Pulumi keeps the serialized provider; never part of our outputs."""


def made_here(props: dict[str, Any]) -> bool:
    """Whether the stack made this object rather than adopted it by name (``created``).

    State written before the marker existed cannot tell (its create adopted any object of
    that name, another state's too): such an object is not ours to delete either.
    """
    return props.get("created") is True


def inputs_of(props: dict[str, Any]) -> dict[str, Any]:
    """``props`` without the serialized provider."""
    return {k: v for k, v in props.items() if k != PROVIDER_KEY}


_SERIALISING = threading.Lock()
_PICKLER_PATCHED = ("_batch_setitems", "save_dict")


@contextmanager
def pickler_restored() -> Iterator[None]:
    """Around a dynamic resource's registration: undo what pulumi leaves on the pickler.

    ``pulumi.dynamic.serialize_provider`` (SDK 3.272) wraps ``pickle._Pickler``'s
    ``_batch_setitems`` and ``save_dict`` on every call and never puts them back, so each
    registration adds a layer; after a few hundred in one process every pickle fails with
    RecursionError. The engine runs programs inline, in the worker's process: restore them.
    """
    with _SERIALISING:
        saved = {name: getattr(pickle._Pickler, name) for name in _PICKLER_PATCHED}
        try:
            yield
        finally:
            for name, value in saved.items():
                setattr(pickle._Pickler, name, value)
