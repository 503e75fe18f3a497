"""The parameter schema and its strict checks, in the Go SDK's error forms."""

import unittest
from dataclasses import dataclass

from aexp_variant import ParamError, decode, param, schema
from aexp_variant.params import from_pb


@dataclass
class Config:
    need: float = param(doc="required")
    lr: float = param(1e-3, min=1e-7, max=1, doc="learning rate")
    hidden: list[int] = param([32, 8], min=1, doc="widths")
    act: str = param("relu", choices=["relu", "tanh"], doc="activation")
    tied: bool = param(False, doc="tie weights")
    epochs_x: int = param(3, min=0, max=10, doc="an int")


class SchemaTest(unittest.TestCase):
    def test_schema(self):
        s = {p.name: p for p in schema(Config)}
        self.assertEqual(list(s), ["need", "lr", "hidden", "act", "tied", "epochs_x"])
        self.assertEqual((s["lr"].type, s["lr"].min, s["lr"].max, from_pb(s["lr"].default)), ("float", 1e-7, 1.0, 1e-3))
        self.assertEqual((s["hidden"].type, from_pb(s["hidden"].default)), ("int_list", [32, 8]))
        self.assertEqual((s["act"].type, list(s["act"].choices)), ("string", ["relu", "tanh"]))
        self.assertEqual(s["tied"].type, "bool")
        self.assertFalse(s["need"].HasField("default"))
        self.assertFalse(s["tied"].HasField("min"))

    def test_bad_declarations(self):
        @dataclass
        class NoDoc:
            x: int = 3

        @dataclass
        class BadType:
            x: dict = param(0, doc="a map")

        for cls in (NoDoc, BadType):
            with self.assertRaises(TypeError):
                schema(cls)


class DecodeTest(unittest.TestCase):
    def test_defaults_fill(self):
        c = decode(Config, {"need": 2, "lr": 0.5, "hidden": [4.0]})
        self.assertEqual((c.need, c.lr, c.hidden, c.act, c.tied), (2.0, 0.5, [4], "relu", False))
        self.assertIsInstance(c.need, float)
        # A fresh list per instance.
        decode(Config, {"need": 1}).hidden.append(1)
        self.assertEqual(decode(Config, {"need": 1}).hidden, [32, 8])

    def test_errors_name_the_parameter(self):
        cases = [
            ({"need": 1, "lx": 1}, "lx", 'unknown parameter (did you mean "lr"?)'),
            ({"need": 1, "lr": "fast"}, "lr", "want float, got the string 'fast'"),
            ({"need": 1, "lr": 5}, "lr", "5 is above the maximum 1"),
            ({"need": 1, "lr": 0}, "lr", "0 is below the minimum 1e-07"),
            ({"need": 1, "epochs_x": 2.5}, "epochs_x", "want int, got 2.5"),
            ({"need": 1, "epochs_x": True}, "epochs_x", "want int"),
            ({"need": 1, "act": "selu"}, "act", "'selu' is not one of relu, tanh"),
            ({"need": 1, "act": 42}, "act", "want string"),
            ({"need": 1, "tied": 1}, "tied", "want bool"),
            ({"need": 1, "hidden": [4, 0]}, "hidden", "element 1: 0 is below the minimum 1"),
            ({"need": 1, "hidden": 4}, "hidden", "want a list of ints"),
            ({}, "need", "required parameter is missing (it has no default)"),
        ]
        for values, key, msg in cases:
            with self.subTest(values=values):
                with self.assertRaises(ParamError) as cm:
                    decode(Config, values)
                self.assertIn(f'parameter "{key}": {msg}', str(cm.exception))

    def test_every_problem_at_once(self):
        with self.assertRaises(ParamError) as cm:
            decode(Config, {"lr": 9, "act": "x"})
        self.assertEqual([k for k, _ in cm.exception.problems], ["act", "lr", "need"])


if __name__ == "__main__":
    unittest.main()
