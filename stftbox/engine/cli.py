"""Command-line helpers shared by the tools."""
import ast
from typing import Any


def _literal(node: ast.AST) -> Any:
    """``ast.literal_eval`` that also accepts ``dict(key=literal, ...)``."""
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id == 'dict' and not node.args):
        return {kw.arg: _literal(kw.value) for kw in node.keywords
                if kw.arg is not None}
    if isinstance(node, (ast.List, ast.Tuple)):
        items = [_literal(e) for e in node.elts]
        return items if isinstance(node, ast.List) else tuple(items)
    if isinstance(node, ast.Dict):
        return {_literal(k): _literal(v) for k, v in zip(node.keys,
                                                         node.values)}
    return ast.literal_eval(node)


def _parse(value: Any) -> Any:
    if isinstance(value, list):
        return [_parse(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_parse(v) for v in value)
    if isinstance(value, str) and value.startswith('dict(') and \
            value.endswith(')'):
        try:
            return _literal(ast.parse(value, mode='eval').body)
        except (SyntaxError, ValueError):
            return value
    return value


def parse_literals(options: dict) -> dict:
    """Turn ``dict(...)`` strings inside ``--cfg-options`` values into dicts.

    mmengine's ``DictAction`` splits ``[a, b]`` into a list but keeps each
    element a string, so
    ``visualizer.vis_backends=[dict(type='TensorboardVisBackend')]``
    arrives as ``["dict(type='TensorboardVisBackend')"]`` (mmengine's
    ``Visualizer`` then raises ``TypeError: vis_backends must be a list of
    dicts``). Elements written as ``dict(key=value, ...)`` with literal
    values (numbers, strings, booleans, None, lists, nested ``dict(...)``)
    become dicts; everything else is left as it is.

    ``DictAction`` itself limits what arrives: it removes the spaces of a
    value, and it cannot split ``dict(a=1,b=2)`` (a comma inside
    parentheses; mmengine 0.10 recurses without end): write one key per
    ``dict(...)``, or use ``key.0.name=value`` to change
    a list element (``--vis-backend`` for the visualisation backend).

    Args:
        options (dict): ``{key: value}`` as parsed by ``DictAction``.

    Returns:
        dict: a new dict with the parsed values.
    """
    return {key: _parse(value) for key, value in options.items()}
