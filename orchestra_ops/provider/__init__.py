"""The former name of :mod:`orchestra_ops.adapters.pulumi.provider`, kept for stack state.

A dynamic resource's state holds its provider pickled by module and class name; state
written before the move names ``orchestra_ops.provider.*`` (see
:mod:`orchestra_ops.former_names`). Nothing new imports from here.
"""

from __future__ import annotations

from orchestra_ops.adapters.pulumi.provider import (
    _common,
    lambda_firewall,
    lambda_instance,
    lambda_resources,
)
from orchestra_ops.former_names import alias

alias(__name__, (_common, lambda_firewall, lambda_instance, lambda_resources))
