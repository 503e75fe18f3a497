"""The data contract's reader and the PCA baseline."""

import gzip
import os
import struct
import tempfile
import unittest

import numpy as np

from aexp_variant import Data, pca_mse, read_idx, safetensors_dumps, safetensors_loads, val_count
from aexp_variant import aexp_pb2 as pb


def write_idx(path, a, typ):
    head = bytes([0, 0, typ, a.ndim]) + b"".join(struct.pack(">I", d) for d in a.shape)
    body = a.astype({0x08: ">u1", 0x0D: ">f4", 0x0B: ">i2"}[typ]).tobytes()
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "wb") as f:
        f.write(head + body)


class DataTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        d = self.dir.name
        self.images = os.path.join(d, "im.idx.gz")
        self.labels = os.path.join(d, "lb.idx")
        self.floats = os.path.join(d, "f.idx")
        write_idx(self.images, np.arange(10 * 2 * 3).reshape(10, 2, 3) % 256, 0x08)
        write_idx(self.labels, np.arange(10) % 7, 0x08)
        write_idx(self.floats, np.linspace(-1, 1, 12).reshape(12), 0x0D)

    def tearDown(self):
        self.dir.cleanup()

    def test_read_idx(self):
        a = read_idx(self.images)
        self.assertEqual((a.shape, a.dtype), ((10, 2, 3), np.uint8))
        with open(os.path.join(self.dir.name, "bad"), "wb") as f:
            f.write(b"\x00\x00\x08\x01\x00\x00\x00\x05ab")
        with self.assertRaisesRegex(ValueError, "promises 5 bytes"):
            read_idx(os.path.join(self.dir.name, "bad"))

    def test_reads_only_the_rows_it_needs(self):
        # the header promises 10 examples, the file ends within the 7th: what
        # comes before is readable, and the whole file is refused
        a = np.arange(10 * 2 * 3).reshape(10, 2, 3) % 256
        path = os.path.join(self.dir.name, "short.idx.gz")
        with gzip.open(path, "wb") as f:
            f.write(bytes([0, 0, 0x08, 3]) + struct.pack(">III", 10, 2, 3) + a.astype(np.uint8).tobytes()[:6 * 6 + 4])
        np.testing.assert_array_equal(read_idx(path, 4), a[:4])
        self.assertEqual(read_idx(path, 0).shape, (0, 2, 3))
        with self.assertRaisesRegex(ValueError, "promises 60 bytes, the file holds 40"):
            read_idx(path)
        with self.assertRaisesRegex(ValueError, "ends within example 6"):
            read_idx(path, 7)
        with self.assertRaisesRegex(ValueError, "example 10 requested, the file holds 10"):
            read_idx(path, 11)
        d = Data(pb.DataSplit(train_file=path, train_labels_file=self.labels, test_file=path,
                              pool=[5, 0, 3], val_order=[0, 1, 2], test=[1]))
        np.testing.assert_array_equal(d.pool, a[[5, 0, 3]].astype(np.float32) / np.float32(255))
        np.testing.assert_array_equal(d.pool_labels, [5, 0, 3])
        with self.assertRaisesRegex(ValueError, "ends within example 6"):
            Data(pb.DataSplit(train_file=path, test_file=path, pool=[8], val_order=[0], test=[0]))

    def test_contract(self):
        c = pb.DataSplit(train_file=self.images, train_labels_file=self.labels, test_file=self.images,
                         pool=[0, 1, 2, 3, 4, 5], val_order=[4, 1, 5, 0, 2, 3], test=[8, 9])
        d = Data(c)
        self.assertEqual((d.pool.shape, d.pool.dtype, d.shape), ((6, 2, 3), np.float32, (2, 3)))
        self.assertEqual(d.pool[1, 0, 0], np.float32(6) / np.float32(255))
        self.assertEqual(d.test[0, 0, 0], np.float32(48) / np.float32(255))
        self.assertIsNone(d.test_labels)
        tr, va = d.split(0.34)  # round(0.34*6) = 2: positions 4 and 1, in pool order
        np.testing.assert_array_equal(va, d.pool[[1, 4]])
        np.testing.assert_array_equal(tr, d.pool[[0, 2, 3, 5]])
        np.testing.assert_array_equal(d.split_labels(0.34)[1], [1, 4])
        self.assertEqual(len(d.split(0)[1]), 0)
        self.assertEqual(len(d.split(0.01)[1]), 1)  # at least one
        f = Data(pb.DataSplit(train_file=self.floats, test_file=self.floats, pool=[0], val_order=[0], test=[11]))
        self.assertEqual((f.shape, float(f.test[0, 0])), ((1,), 1.0))
        with self.assertRaisesRegex(ValueError, "no data contract"):
            Data(pb.DataSplit())
        with self.assertRaisesRegex(ValueError, "example 10 requested"):
            Data(pb.DataSplit(train_file=self.images, test_file=self.images, pool=[10], val_order=[0], test=[0]))

    def test_val_count(self):
        for frac, n, want in [(0, 10, 0), (0.1, 10, 1), (0.1, 4, 1), (0.1, 16, 2), (0.5, 2, 1), (0.49, 1, 0), (0.1, 60000, 6000)]:
            self.assertEqual(val_count(frac, n), want, (frac, n))


class PCATest(unittest.TestCase):
    def test_exact_on_low_rank_data(self):
        rng = np.random.default_rng(1)
        basis = rng.normal(size=(2, 8))
        train = (rng.normal(size=(200, 2)) @ basis + 3).astype(np.float32)
        test = (rng.normal(size=(50, 2)) @ basis + 3).astype(np.float32)
        self.assertLess(pca_mse(train, test, 2), 1e-8)
        full = pca_mse(train, test, 0)
        self.assertAlmostEqual(full, float(np.mean((test - train.mean(0)) ** 2)), places=4)
        self.assertGreater(pca_mse(train, test, 1), 1e-3)


class SafetensorsTest(unittest.TestCase):
    def test_round_trip(self):
        t = {"w": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.array([1, 2], dtype=np.int64)}
        b = safetensors_dumps(t, {"epoch": 3})
        (n,) = struct.unpack("<Q", b[:8])
        self.assertEqual((8 + n) % 8, 0)
        got, meta = safetensors_loads(b)
        self.assertEqual(list(got), ["w", "b"])
        np.testing.assert_array_equal(got["w"], t["w"])
        np.testing.assert_array_equal(got["b"], t["b"])
        self.assertEqual(meta, {"epoch": "3"})
        with self.assertRaisesRegex(ValueError, "header length"):
            safetensors_loads(b"\xff" * 16)


if __name__ == "__main__":
    unittest.main()
