"""Run (what a train function reports through) and the committed stubs."""

import os
import queue
import shutil
import subprocess
import tempfile
import unittest

import numpy as np

from aexp_variant import Cancelled, Diverged, Run, safetensors_loads
from aexp_variant import aexp_pb2 as pb

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..", "..")


def drain(q):
    out = []
    while not q.empty():
        out.append(q.get())
    return out


class RunTest(unittest.TestCase):
    def run_for(self, **req):
        q = queue.Queue()
        return Run(pb.TrainRequest(epochs=3, run_key="k", **req), q), q

    def test_epochs_and_divergence(self):
        run, q = self.run_for()
        self.assertEqual((run.epochs, run.batch_size, run.keep), (3, 128, "last"))
        run.epoch(1, train_loss=0.5, val_loss=0.25, val_x=2)
        (ev,) = drain(q)
        self.assertEqual((ev.epoch.epoch, dict(ev.epoch.metrics)), (1, {"train_loss": 0.5, "val_loss": 0.25, "val_x": 2.0}))
        with self.assertRaises(Diverged) as cm:
            run.epoch(2, train_loss=float("nan"), val_loss=1)
        self.assertEqual((cm.exception.epoch, cm.exception.reason), (2, "train_loss is nan"))
        with self.assertRaisesRegex(ValueError, "val_loss is missing"):
            run.epoch(2, train_loss=1)

    def test_keep_policies(self):
        w = {"w": np.ones((2, 2), dtype=np.float32)}
        for keep, want in [("last", [3]), ("best", [1, 3]), ("all", [1, 2, 3])]:
            run, q = self.run_for(keep=keep)
            for epoch, val in [(1, 0.5), (2, 0.7), (3, 0.4)]:
                run.checkpoint(w, epoch, val, {"shape": "2,2"})
            evs = drain(q)
            self.assertEqual([e.artifact.header.epoch for e in evs], want, keep)
            h = evs[-1].artifact.header
            self.assertEqual((h.kind, h.name, h.meta["shape"], h.size), ("checkpoint", "model-epoch3.safetensors", "2,2", len(evs[-1].artifact.data)))
            tensors, meta = safetensors_loads(evs[-1].artifact.data)
            self.assertEqual((meta["epoch"], meta["run_key"]), ("3", "k"))

    def test_chunks(self):
        run, q = self.run_for()
        data = bytes(range(256)) * (5 * 4096 + 1)  # 5 MiB + 256 bytes
        run.artifact("sample", "s.bin", data, format="raw")
        evs = drain(q)
        self.assertEqual(len(evs), 6)
        self.assertTrue(evs[0].artifact.HasField("header") and not any(e.artifact.HasField("header") for e in evs[1:]))
        self.assertEqual([e.artifact.last for e in evs], [False] * 5 + [True])
        self.assertEqual(b"".join(e.artifact.data for e in evs), data)

    def test_cancelled(self):
        run, q = self.run_for()
        run._cancelled.set()
        for f in (run.check, lambda: run.log("x"), lambda: run.epoch(1, train_loss=1, val_loss=1)):
            with self.assertRaises(Cancelled):
                f()
        self.assertEqual(drain(q), [])


class StubsTest(unittest.TestCase):
    """The committed stubs are what `make pyproto` generates from aexp.proto."""

    def test_stubs_are_fresh(self):
        protoc, plugin = shutil.which("protoc"), shutil.which("grpc_python_plugin")
        if not protoc or not plugin:
            self.skipTest("protoc or grpc_python_plugin (Debian protobuf-compiler, protobuf-compiler-grpc) absent")
        with tempfile.TemporaryDirectory() as d:
            os.mkdir(os.path.join(d, "aexp_variant"))
            shutil.copy(os.path.join(ROOT, "variant", "internal", "pb", "aexp.proto"), os.path.join(d, "aexp_variant"))
            os.mkdir(os.path.join(d, "out"))
            subprocess.run([protoc, "-I", d, f"--python_out={d}/out", f"--grpc_python_out={d}/out",
                            f"--plugin=protoc-gen-grpc_python={plugin}", os.path.join(d, "aexp_variant", "aexp.proto")],
                           check=True, capture_output=True)
            for f in ("aexp_pb2.py", "aexp_pb2_grpc.py"):
                with open(os.path.join(d, "out", "aexp_variant", f)) as a, open(os.path.join(HERE, "..", "aexp_variant", f)) as b:
                    self.assertEqual(a.read(), b.read(), f"{f} is stale: run make pyproto")


if __name__ == "__main__":
    unittest.main()


class FakeContext:
    """The bits of grpc.ServicerContext the servicer uses."""

    class Aborted(Exception):
        pass

    def abort(self, code, msg):
        raise FakeContext.Aborted(code, msg)


class ServicerTest(unittest.TestCase):
    """Sample and Reconstruct reassemble the checkpoint, decode the params
    and chunk the reply, without a network."""

    def servicer(self, **caps):
        from dataclasses import dataclass
        from aexp_variant import Variant, param, safetensors_dumps
        from aexp_variant.server import _Servicer

        @dataclass
        class Config:
            scale: float = param(2.0, min=0, doc="scale")

        v = Variant(name="t", version="0", doc="d", config=Config, train=None, **caps)
        ckpt = safetensors_dumps({"w": np.full((3,), 0.5, dtype=np.float32)})
        return _Servicer(v), ckpt

    def call(self, method, header, ckpt):
        msgs = [pb.SampleRequest(header=header, checkpoint_chunk=ckpt[:10]),
                pb.SampleRequest(checkpoint_chunk=ckpt[10:])]
        chunks = list(method(iter(msgs), FakeContext()))
        return chunks[0].header, safetensors_loads(b"".join(c.data for c in chunks))[0]

    def test_sample(self):
        s, ckpt = self.servicer(sample=lambda cfg, c, n, seed: np.ones((n, 3)) * c[0]["w"] * cfg.scale)
        h, t = self.call(s.Sample, pb.SampleHeader(n=4, seed=1, params={"scale": pb.Value(float=3)}), ckpt)
        self.assertEqual((h.kind, h.meta["shape"]), ("sample", "3"))
        np.testing.assert_array_equal(t["sample"], np.full((4, 3), 1.5, dtype=np.float32))
        with self.assertRaises(FakeContext.Aborted) as cm:
            self.call(s.Sample, pb.SampleHeader(n=1, params={"scale": pb.Value(float=-1)}), ckpt)
        self.assertIn('parameter "scale": -1 is below the minimum 0', cm.exception.args[1])
        s2, _ = self.servicer()
        with self.assertRaises(FakeContext.Aborted) as cm:
            list(s2.Sample(iter([]), FakeContext()))
        self.assertEqual(cm.exception.args[0].name, "UNIMPLEMENTED")
