"""The parameter schema: a dataclass of typed, documented, bounded fields.

    @dataclass
    class Config:
        hidden: list[int] = param([256, 64], min=1, doc="encoder widths; the last is the code size")
        lr: float = param(1e-3, min=1e-7, max=1, doc="Adam learning rate")
        activation: str = param("relu", choices=["relu", "tanh"], doc="hidden activation")

schema(Config) is what Describe sends; decode(Config, values) checks a
Train request's values strictly, as the Go SDK does, and raises ParamError
(one line per bad parameter, each `parameter "name": what is wrong`).
"""

import dataclasses
import math
import typing

from . import aexp_pb2 as pb

_MISSING = dataclasses.MISSING

# Python annotation -> schema type.
_TYPES = {int: "int", float: "float", str: "string", bool: "bool",
          typing.List[int]: "int_list", typing.List[float]: "float_list",
          list[int]: "int_list", list[float]: "float_list"}


def param(default=_MISSING, *, doc, min=None, max=None, choices=None):
    """A documented parameter; without a default it is required."""
    meta = {"doc": doc, "min": min, "max": max, "choices": list(choices or [])}
    if isinstance(default, list):
        return dataclasses.field(default_factory=lambda: list(default), metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


class ParamError(ValueError):
    """Bad parameters. Its text has one `parameter "name": ...` line per
    problem; the plugin answers INVALID_ARGUMENT with it."""

    def __init__(self, problems):
        self.problems = problems  # [(name, message)]
        super().__init__("\n".join(f'parameter "{k}": {m}' for k, m in problems))


@dataclasses.dataclass
class Param:
    name: str
    type: str
    default: object
    doc: str
    min: float = None
    max: float = None
    choices: list = dataclasses.field(default_factory=list)


def params_of(config_cls):
    """The schema of a config dataclass, as a list of Param."""
    hints = typing.get_type_hints(config_cls)
    out = []
    for f in dataclasses.fields(config_cls):
        t = _TYPES.get(hints[f.name])
        if t is None:
            raise TypeError(f"{config_cls.__name__}.{f.name}: type {hints[f.name]} is not one of int, float, str, bool, list[int], list[float]")
        if "doc" not in f.metadata or not f.metadata["doc"].strip():
            raise TypeError(f"{config_cls.__name__}.{f.name}: declare it with param(..., doc=...)")
        default = f.default
        if f.default_factory is not _MISSING:
            default = f.default_factory()
        if default is _MISSING:
            default = None
        m = f.metadata
        out.append(Param(f.name, t, default, m["doc"], m["min"], m["max"], m["choices"]))
    return out


def _value(t, v):
    """A Python value as a pb.Value of schema type t."""
    if t == "int":
        return pb.Value(int=int(v))
    if t == "float":
        return pb.Value(float=float(v))
    if t == "string":
        return pb.Value(str=v)
    if t == "bool":
        return pb.Value(bool=v)
    if t == "int_list":
        return pb.Value(int_list=pb.IntList(values=[int(x) for x in v]))
    return pb.Value(float_list=pb.FloatList(values=[float(x) for x in v]))


def schema(config_cls):
    """The Describe schema (pb.Param messages) of a config dataclass."""
    out = []
    for p in params_of(config_cls):
        m = pb.Param(name=p.name, type=p.type, doc=p.doc, choices=p.choices)
        if p.default is not None:
            m.default.CopyFrom(_value(p.type, p.default))
        if p.min is not None:
            m.min = float(p.min)
        if p.max is not None:
            m.max = float(p.max)
        out.append(m)
    return out


def from_pb(value):
    """A pb.Value as a Python value (int, float, str, bool or a list)."""
    kind = value.WhichOneof("kind")
    if kind in ("int_list", "float_list"):
        return list(getattr(value, kind).values)
    if kind == "str":
        return value.str
    return getattr(value, kind) if kind else None


def _describe(v):
    return f"the string {v!r}" if isinstance(v, str) else f"{v!r} ({type(v).__name__})"


def _number(v, want_int):
    """v as an int (integral floats allowed) or a float; raises ValueError."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ValueError(f"want {'int' if want_int else 'float'}, got {_describe(v)}")
    if want_int:
        if isinstance(v, float) and (not math.isfinite(v) or v != int(v)):
            raise ValueError(f"want int, got {v!r}")
        return int(v)
    if not math.isfinite(v):
        raise ValueError(f"want a finite float, got {v!r}")
    return float(v)


def _bounded(p, x, where=""):
    if p.min is not None and x < p.min:
        raise ValueError(f"{where}{x:g} is below the minimum {p.min:g}")
    if p.max is not None and x > p.max:
        raise ValueError(f"{where}{x:g} is above the maximum {p.max:g}")
    return x


def _check(p, v):
    if p.type in ("int", "float"):
        return _bounded(p, _number(v, p.type == "int"))
    if p.type == "string":
        if not isinstance(v, str):
            raise ValueError(f"want string, got {_describe(v)}")
        if p.choices and v not in p.choices:
            raise ValueError(f"{v!r} is not one of {', '.join(p.choices)}")
        return v
    if p.type == "bool":
        if not isinstance(v, bool):
            raise ValueError(f"want bool, got {_describe(v)}")
        return v
    elem = "int" if p.type == "int_list" else "float"
    if not isinstance(v, list):
        raise ValueError(f"want a list of {elem}s, got {_describe(v)}")
    out = []
    for i, x in enumerate(v):
        try:
            out.append(_bounded(p, _number(x, elem == "int")))
        except ValueError as e:
            raise ValueError(f"element {i}: {e}") from None
    return out


def closest(s, candidates):
    """The candidate s is probably a typo of (as the Go SDK's suggest.Closest):
    a small edit distance, or one a prefix of the other; else None."""
    best, best_d = None, max(2, len(s) // 3) + 1
    for c in candidates:
        prev = list(range(len(c) + 1))
        for i, a in enumerate(s, 1):
            cur = [i]
            for j, b in enumerate(c, 1):
                cur.append(min(prev[j - 1] + (a != b), prev[j] + 1, cur[j - 1] + 1))
            prev = cur
        d = prev[-1]
        if len(s) >= 3 and (c.startswith(s) or s.startswith(c)):
            d = min(d, 1)
        if d < best_d:
            best, best_d = c, d
    return best


def decode(config_cls, values):
    """Check values (name -> Python value) against the schema of
    config_cls and return a config_cls instance; defaults fill the gaps.
    Raises ParamError naming every bad parameter."""
    params = params_of(config_cls)
    known = {p.name: p for p in params}
    problems, out = [], {}
    for k in sorted(values):
        p = known.get(k)
        if p is None:
            msg = "unknown parameter"
            close = closest(k, sorted(known))
            if close:
                msg += f' (did you mean "{close}"?)'
            msg += "; known: " + ", ".join(sorted(known)) if known else "; this variant takes no parameters"
            problems.append((k, msg))
            continue
        try:
            out[k] = _check(p, values[k])
        except ValueError as e:
            problems.append((k, str(e)))
    for p in params:
        if p.name not in values and p.default is None:
            problems.append((p.name, "required parameter is missing (it has no default)"))
    if problems:
        raise ParamError(problems)
    return config_cls(**out)
