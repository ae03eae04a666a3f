"""Pulumi's unit-test mocks, with an event loop on the main thread.

``pulumi.runtime.set_mocks`` asks the main thread for its event loop. A test that ran
``asyncio.run`` earlier in the same worker leaves the main thread without one (and
Python then refuses to make one implicitly), so the mocks install a fresh loop there.
It stays installed, as Python's own implicit loop would, for Pulumi's later calls.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

import pulumi


@contextmanager
def mocked_pulumi(mocks: pulumi.runtime.Mocks, *, project: str, stack: str) -> Iterator[None]:
    try:
        asyncio.get_event_loop()
    except RuntimeError:
        asyncio.set_event_loop(asyncio.new_event_loop())
    pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=False)
    try:
        yield
    finally:
        pulumi.runtime.set_all_config({})  # leave no stack config behind for later tests
