"""The safe expression language of the catalog (``show_if``, ``constraint``, ``compute`` …).

Catalog files are written by each install's administrators, so an expression must never be
able to reach Python: it is parsed with :mod:`ast`, checked against a small allow-list of
node types at compile time, and evaluated by :mod:`simpleeval` (never ``eval``/``exec``),
which also keeps its limits on huge powers and strings.

The language is Python expression syntax over field ids::

    jenis == 'hilang' and age(tanggal_lahir) >= 17
    any_of(alasan, 'rusak', 'ganti_data')
    days_between(tanggal_kejadian, today()) <= 30
    jumlah * 50000

Unanswered fields are ``None`` and behave like SQL nulls so that a half-filled form never
trips an expression: arithmetic with ``None`` gives ``None``, ordering comparisons with
``None`` are false, and the functions below accept ``None``. Dates are ISO strings in
answers; comparisons between a date and an ISO string compare them as dates.

Any runtime failure (a type error, a division by zero, a limit hit) is raised as
:class:`ExpressionError` only, so the form engine can turn it into a result.
"""

from __future__ import annotations

import ast
import functools
import logging
import math
import operator
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import simpleeval

log = logging.getLogger(__name__)

FUNCTION_NAMES = frozenset(
    {
        "today",
        "age",
        "days_between",
        "len",
        "lower",
        "upper",
        "contains",
        "any_of",
        "is_empty",
        "int",
        "str",
        "round",
        "min",
        "max",
        "date",
    }
)

_ALLOWED_NODES: frozenset[type[ast.AST]] = frozenset(
    {
        ast.Expression,
        ast.BoolOp,
        ast.And,
        ast.Or,
        ast.UnaryOp,
        ast.Not,
        ast.USub,
        ast.UAdd,
        ast.BinOp,
        ast.Add,
        ast.Sub,
        ast.Mult,
        ast.Div,
        ast.FloorDiv,
        ast.Mod,
        ast.Pow,
        ast.Compare,
        ast.Eq,
        ast.NotEq,
        ast.Lt,
        ast.LtE,
        ast.Gt,
        ast.GtE,
        ast.In,
        ast.NotIn,
        ast.Is,
        ast.IsNot,
        ast.IfExp,
        ast.Call,
        ast.keyword,
        ast.Name,
        ast.Load,
        ast.Constant,
        ast.List,
        ast.Tuple,
        ast.Subscript,
        ast.Slice,
    }
)

# What a construct is called in messages (for the ones people are likely to try).
_NODE_WORDS = {
    ast.Attribute: "attribute access (x.y); use the functions lower(), upper() …",
    ast.Lambda: "lambda",
    ast.ListComp: "comprehensions",
    ast.GeneratorExp: "comprehensions",
    ast.DictComp: "comprehensions",
    ast.SetComp: "comprehensions",
    ast.Dict: "dict literals",
    ast.Set: "set literals",
    ast.JoinedStr: "f-strings",
    ast.NamedExpr: "assignment (:=)",
    ast.Starred: "starred arguments",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
    ast.BitAnd: "bitwise operators; use 'and'",
    ast.BitOr: "bitwise operators; use 'or'",
    ast.BitXor: "bitwise operators",
    ast.Invert: "bitwise operators",
    ast.LShift: "bitwise operators",
    ast.RShift: "bitwise operators",
    ast.MatMult: "the @ operator",
}

_MAX_SOURCE = 2000
_MAX_POWER_BITS = 4096


class ExpressionError(Exception):
    """An expression that does not compile, or failed while being evaluated."""


_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_DMY_DATE = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})$")


def parse_date(value: Any) -> date | None:
    """A date from a ``date``, an ISO ``YYYY-MM-DD`` string or ``DD-MM-YYYY``/``DD/MM/YYYY``.

    Answers store dates as ISO strings; the day-first form is how Indonesian documents
    (KTP, KK) print dates, so officers type it. The year always has four digits, so the two
    forms cannot be confused. ``None`` and ``""`` give ``None``; anything else that is not a
    date raises ``ValueError``.
    """
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise ValueError(f"not a date: {value!r}")
    text = value.strip()
    if not text:
        return None
    match = _ISO_DATE.match(text)
    if match:
        year, month, day = (int(g) for g in match.groups())
    else:
        match = _DMY_DATE.match(text)
        if not match:
            raise ValueError(f"not a date (expected YYYY-MM-DD): {value!r}")
        day, month, year = (int(g) for g in match.groups())
    return date(year, month, day)  # ValueError for 2023-02-30


# --- functions available to expressions -------------------------------------------------


def _age(born: Any, on: Any = None, *, today: date) -> int | None:
    birth = parse_date(born)
    if birth is None:
        return None
    when = parse_date(on) if on is not None else today
    if when is None:
        return None
    years = when.year - birth.year
    if (when.month, when.day) < (birth.month, birth.day):
        years -= 1
    return years


def _days_between(start: Any, end: Any) -> int | None:
    first, second = parse_date(start), parse_date(end)
    if first is None or second is None:
        return None
    return (second - first).days


def _len(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, int | float | bool):
        raise TypeError(f"len() of a number ({value!r})")
    return len(value)


def _lower(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"lower() needs text, not {type(value).__name__}")
    return value.lower()


def _upper(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"upper() needs text, not {type(value).__name__}")
    return value.upper()


def _contains(collection: Any, item: Any) -> bool:
    if collection is None or item is None:
        return False
    if isinstance(collection, str):
        return str(item) in collection
    if isinstance(collection, list | tuple | set | frozenset | dict):
        return item in collection
    raise TypeError(f"contains() needs text or a list, not {type(collection).__name__}")


def _any_of(value: Any, *options: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, list | tuple):  # a multichoice answer: any selected option
        return any(v in options for v in value)
    return value in options


def _is_empty(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list | tuple | dict | set):
        return len(value) == 0
    return False


def _int(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = value.strip()
        if not value:
            return None
        if len(value) > 40:
            raise ValueError("int() of a very long text")
    return int(value)


def _str(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "ya" if value else "tidak"
    if isinstance(value, list | tuple | dict):
        raise TypeError("str() of a list")
    return str(value)


def _round(value: Any, digits: Any = 0) -> float | int | None:
    if value is None:
        return None
    if not isinstance(digits, int) or isinstance(digits, bool) or not -20 <= digits <= 20:
        raise ValueError("round() digits must be a whole number between -20 and 20")
    result = round(value, digits)
    return (
        int(result) if digits <= 0 and isinstance(result, float) and result.is_integer() else result
    )


def _extreme(pick: Callable[..., Any], name: str) -> Callable[..., Any]:
    def extreme(*values: Any) -> Any:
        if len(values) == 1 and isinstance(values[0], list | tuple):
            values = tuple(values[0])
        present = [v for v in values if v is not None]
        if not present:
            return None
        return pick(_comparable_pair_list(present))

    extreme.__name__ = name
    return extreme


def _comparable_pair_list(values: list[Any]) -> list[Any]:
    # min()/max() over dates given as a mix of date objects and ISO strings.
    if any(isinstance(v, date) for v in values):
        return [parse_date(v) if isinstance(v, str) else v for v in values]
    return values


def _date(value: Any) -> date | None:
    return parse_date(value)


# --- operators: None-tolerant, dates compare with ISO strings ---------------------------


def _coerce_dates(left: Any, right: Any) -> tuple[Any, Any]:
    if isinstance(left, date) and isinstance(right, str):
        return left, parse_date(right)
    if isinstance(right, date) and isinstance(left, str):
        return parse_date(left), right
    return left, right


def _null_arithmetic(fn: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    def apply(left: Any, right: Any) -> Any:
        if left is None or right is None:
            return None
        return fn(left, right)

    return apply


def _null_unary(fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def apply(value: Any) -> Any:
        return None if value is None else fn(value)

    return apply


def _ordering(fn: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def compare(left: Any, right: Any) -> bool:
        if left is None or right is None:
            return False
        left, right = _coerce_dates(left, right)
        return fn(left, right)

    return compare


def _equality(fn: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def compare(left: Any, right: Any) -> bool:
        left, right = _coerce_dates(left, right)
        return fn(left, right)

    return compare


def _membership(item: Any, container: Any) -> bool:
    if container is None:
        return False
    if isinstance(container, str) and not isinstance(item, str):
        return False if item is None else str(item) in container
    return item in container


def _modulo(left: Any, right: Any) -> Any:
    # "%999999999d" % 1 would build a gigabyte of text: no printf-style formatting.
    if isinstance(left, str | bytes):
        raise TypeError("% on text is not available")
    return left % right


def _safe_power(base: Any, exponent: Any) -> Any:
    # simpleeval's own limit still allows results of millions of digits; no form needs more
    # than a few thousand bits.
    if isinstance(base, int | float) and isinstance(exponent, int | float) and abs(base) > 1:
        if exponent * math.log2(abs(base)) > _MAX_POWER_BITS:
            raise simpleeval.NumberTooHigh(f"{base} ** {exponent} is too large")
    return simpleeval.safe_power(base, exponent)


_OPERATORS: dict[type, Callable[..., Any]] = {
    ast.Add: _null_arithmetic(simpleeval.safe_add),
    ast.Sub: _null_arithmetic(operator.sub),
    ast.Mult: _null_arithmetic(simpleeval.safe_mult),
    ast.Div: _null_arithmetic(operator.truediv),
    ast.FloorDiv: _null_arithmetic(operator.floordiv),
    ast.Mod: _null_arithmetic(_modulo),
    ast.Pow: _null_arithmetic(_safe_power),
    ast.USub: _null_unary(operator.neg),
    ast.UAdd: _null_unary(operator.pos),
    ast.Not: operator.not_,
    ast.Eq: _equality(operator.eq),
    ast.NotEq: _equality(operator.ne),
    ast.Lt: _ordering(operator.lt),
    ast.LtE: _ordering(operator.le),
    ast.Gt: _ordering(operator.gt),
    ast.GtE: _ordering(operator.ge),
    ast.In: _membership,
    ast.NotIn: lambda item, container: not _membership(item, container),
    ast.Is: operator.is_,
    ast.IsNot: operator.is_not,
}


class _Evaluator(simpleeval.SimpleEval):
    """simpleeval with list/tuple literals, None for unknown names and a settable today."""

    def __init__(self) -> None:
        self.today = date.today()
        functions = {
            "today": lambda: self.today,
            "age": lambda born, on=None: _age(born, on, today=self.today),
            "days_between": _days_between,
            "len": _len,
            "lower": _lower,
            "upper": _upper,
            "contains": _contains,
            "any_of": _any_of,
            "is_empty": _is_empty,
            "int": _int,
            "str": _str,
            "round": _round,
            "min": _extreme(min, "min"),
            "max": _extreme(max, "max"),
            "date": _date,
        }
        assert set(functions) == FUNCTION_NAMES
        super().__init__(operators=dict(_OPERATORS), functions=functions, names={})
        self.nodes[ast.List] = self._eval_list
        self.nodes[ast.Tuple] = self._eval_tuple
        self.nodes[ast.Subscript] = self._eval_null_subscript

    def _eval_name(self, node: ast.Name) -> Any:
        return self.names.get(node.id)

    def _eval_list(self, node: ast.List) -> list[Any]:
        return [self._eval(item) for item in node.elts]

    def _eval_tuple(self, node: ast.Tuple) -> tuple[Any, ...]:
        return tuple(self._eval(item) for item in node.elts)

    def _eval_null_subscript(self, node: ast.Subscript) -> Any:
        container = self._eval(node.value)
        if container is None:
            return None
        return container[self._eval(node.slice)]


_local = threading.local()


def _evaluator() -> _Evaluator:
    # simpleeval keeps the current names on the instance, so one evaluator per thread.
    evaluator = getattr(_local, "evaluator", None)
    if evaluator is None:
        evaluator = _local.evaluator = _Evaluator()
    return evaluator


@dataclass(frozen=True)
class Expression:
    """A compiled expression: parse once, evaluate on every keystroke."""

    source: str
    names: frozenset[str]  # the free names it reads (field ids, ``value``)
    literal_comparisons: tuple[tuple[str, str], ...]  # (name, 'text') compared for equality
    _tree: ast.expr = field(repr=False, compare=False)

    def evaluate(self, names: Mapping[str, Any], *, today: date | None = None) -> Any:
        """The value over ``names``; missing names are ``None`` (an unanswered field).

        Raises only :class:`ExpressionError`.
        """
        evaluator = _evaluator()
        evaluator.names = names
        evaluator.today = today or date.today()
        try:
            return evaluator.eval(self.source, previously_parsed=self._tree)
        except ExpressionError:
            raise
        except simpleeval.InvalidExpression as exc:
            raise ExpressionError(f"{self.source}: {exc}") from None
        except RecursionError:
            raise ExpressionError(f"{self.source}: too deeply nested") from None
        except Exception as exc:  # every runtime failure becomes a result, never a crash
            raise ExpressionError(f"{self.source}: {type(exc).__name__}: {exc}") from None
        finally:
            evaluator.names = {}


def _reject(node: ast.AST, source: str) -> ExpressionError:
    words = _NODE_WORDS.get(type(node), type(node).__name__)
    return ExpressionError(f"not allowed in an expression: {words} (in {source!r})")


def _analyse(
    tree: ast.Expression, source: str
) -> tuple[frozenset[str], tuple[tuple[str, str], ...]]:
    nodes = list(ast.walk(tree))
    called = {id(n.func) for n in nodes if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    names: set[str] = set()
    comparisons: list[tuple[str, str]] = []
    for node in nodes:
        if type(node) not in _ALLOWED_NODES:
            raise _reject(node, source)
        if isinstance(node, ast.Call):
            if isinstance(node.func, ast.Attribute):
                raise _reject(node.func, source)
            if not isinstance(node.func, ast.Name):
                raise ExpressionError(f"only the listed functions can be called (in {source!r})")
            if node.func.id not in FUNCTION_NAMES:
                known = ", ".join(sorted(FUNCTION_NAMES))
                raise ExpressionError(f"unknown function {node.func.id}() (known: {known})")
            if (
                node.func.id in ("any_of", "contains")
                and node.args
                and isinstance(node.args[0], ast.Name)
            ):
                # any_of(jenis, 'a', 'b'), contains(pilihan, 'a'): literals meant as choices
                for arg in node.args[1:]:
                    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                        comparisons.append((node.args[0].id, arg.value))
        elif isinstance(node, ast.Name):
            if id(node) in called:
                continue
            if node.id in FUNCTION_NAMES:
                raise ExpressionError(f"{node.id} is a function: write {node.id}(…)")
            if node.id.startswith("_"):
                raise ExpressionError(f"names starting with _ are not allowed: {node.id}")
            names.add(node.id)
        elif isinstance(node, ast.Compare):
            comparisons.extend(_literal_pairs(node))
        elif isinstance(node, ast.Constant) and isinstance(node.value, bytes):
            raise ExpressionError(f"bytes literals are not allowed (in {source!r})")
    return frozenset(names), tuple(comparisons)


def _literal_pairs(node: ast.Compare) -> list[tuple[str, str]]:
    pairs = []
    operands = [node.left, *node.comparators]
    for op, left, right in zip(node.ops, operands, operands[1:], strict=False):
        if isinstance(op, ast.Eq | ast.NotEq):
            for name_side, literal_side in ((left, right), (right, left)):
                if (
                    isinstance(name_side, ast.Name)
                    and isinstance(literal_side, ast.Constant)
                    and isinstance(literal_side.value, str)
                ):
                    pairs.append((name_side.id, literal_side.value))
        elif isinstance(op, ast.In | ast.NotIn) and isinstance(left, ast.Name):
            if isinstance(right, ast.List | ast.Tuple):
                for element in right.elts:
                    if isinstance(element, ast.Constant) and isinstance(element.value, str):
                        pairs.append((left.id, element.value))
    return pairs


@functools.lru_cache(maxsize=4096)
def compile_expression(source: str) -> Expression:
    """Parse and check ``source`` once; raises :class:`ExpressionError` with the reason."""
    if not isinstance(source, str):
        raise ExpressionError(f"an expression must be text, not {type(source).__name__}")
    text = source.strip()
    if not text:
        raise ExpressionError("empty expression")
    if len(text) > _MAX_SOURCE:
        raise ExpressionError(f"expression longer than {_MAX_SOURCE} characters")
    if "\x00" in text:
        raise ExpressionError("expression contains a NUL character")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        where = f" at column {exc.offset}" if exc.offset else ""
        raise ExpressionError(f"syntax error{where} in {text!r}: {exc.msg}") from None
    except (ValueError, RecursionError, MemoryError) as exc:
        raise ExpressionError(f"cannot parse {text!r}: {exc}") from None
    try:
        names, comparisons = _analyse(tree, text)
    except RecursionError:
        raise ExpressionError(f"expression too deeply nested: {text[:80]!r}") from None
    return Expression(text, names, comparisons, tree.body)
