"""Reading YAML that someone else wrote: clear errors, and no alias bombs.

Anchors and aliases are legitimate (compose files share service blocks with them), but
nested aliases can describe a document billions of nodes large in a few hundred bytes.
Parsing shares the aliased nodes, so it is cheap; whatever walks the values afterwards
(a JSON dump, a digest) is not. Every document is therefore measured as it would be
expanded, on its node graph, before any value is built from it.
"""

from __future__ import annotations

from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError
from ruamel.yaml.nodes import MappingNode, Node, SequenceNode

from orchestra_ops.errors import ConfigError

#: Largest text accepted (config files of this kind are a few kilobytes).
MAX_BYTES = 2_000_000
#: Most nodes a document may expand to once every alias is followed.
MAX_EXPANDED_NODES = 200_000


def _children(node: Node) -> list[Node]:
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, SequenceNode):
        return list(node.value)
    return []


def expanded_size(root: Node, limit: int = MAX_EXPANDED_NODES) -> int:
    """How many nodes ``root`` stands for with aliases expanded (stops counting past limit)."""
    sizes: dict[int, int] = {}
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if id(node) in sizes:
            continue
        kids = _children(node)
        if children_done or not kids:
            total = 1 + sum(sizes.get(id(k), 0) for k in kids)
            sizes[id(node)] = min(total, limit + 1)
            continue
        stack.append((node, True))
        stack.extend((k, False) for k in kids if id(k) not in sizes)
    return sizes[id(root)]


def _line(error: YAMLError) -> int:
    mark = getattr(error, "problem_mark", None)
    return mark.line + 1 if mark is not None else 1


def load_yaml(text: str | bytes, source: str, *, typ: str = "rt") -> Any:
    """Parse ``text``; ConfigError naming ``source`` (and the line) when it is not usable.

    ``typ`` is ruamel's loader: ``rt`` keeps comments and line numbers, ``safe`` gives
    plain Python values.
    """
    if len(text) > MAX_BYTES:
        raise ConfigError(
            f"{source}: {len(text)} bytes, more than the {MAX_BYTES} a config file may have",
            source=source,
        )
    yaml = YAML(typ=typ)
    try:
        root = yaml.compose(text)
        if root is not None and expanded_size(root) > MAX_EXPANDED_NODES:
            raise ConfigError(
                f"{source}: its aliases expand to more than {MAX_EXPANDED_NODES} values "
                "(an alias bomb?); write the values out instead",
                source=source,
            )
        return yaml.load(text)
    except YAMLError as error:
        line = _line(error)
        problem = getattr(error, "problem", None) or error
        raise ConfigError(
            f"{source}:{line}: not valid YAML: {problem}", source=f"{source}:{line}"
        ) from None
    except (ValueError, TypeError, LookupError, AttributeError, RecursionError) as error:
        # ruamel builds values as it reads: a bad date (2027-02-30) or an explicit tag on the
        # wrong value (`!!int x`, `!!set` on a list) escapes as a plain Python error.
        reason = f"not valid YAML: cannot build a value ({error!r}); check dates and !!tags"
        raise ConfigError(f"{source}: {reason}", source=source) from None
