"""The former name of :mod:`orchestra_ops.adapters.pulumi.provider`, kept for stack state.

A dynamic resource's state holds its provider pickled by reference (module and class
name). State written before the providers moved names ``orchestra_ops.provider.*``; each
such module is this package's alias of the one it became, so that state still loads
(read, refresh, delete). Nothing new imports from here.
"""

from __future__ import annotations

import sys

from orchestra_ops.adapters.pulumi.provider import (
    _common,
    lambda_firewall,
    lambda_instance,
    lambda_resources,
)

for _module in (_common, lambda_firewall, lambda_instance, lambda_resources):
    sys.modules[f"{__name__}.{_module.__name__.rsplit('.', 1)[1]}"] = _module
