"""The data contract: the examples the host chose for a run, as numpy arrays.

The host names IDX files and lists which examples form the training pool,
the validation order and the test set (TrainRequest.data; see aexp.proto).
Data reads them exactly as the Go plugins do, so runs in every language
train, validate and test on the same examples.
"""

import gzip
import math

import numpy as np

# IDX element type -> numpy big-endian dtype.
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path, rows=None):
    """An IDX file (gzip when the name ends in .gz) as a numpy array of its
    own element type and dimensions. rows: only the first rows examples (the
    rest of the file is never read or decompressed); None: the whole file,
    checked against its header."""
    return _read_idx(path, rows)[0]


def _read_idx(path, rows):
    """read_idx, and how many examples the file's header says it holds."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        head = f.read(4)
        if len(head) < 4 or head[0] != 0 or head[1] != 0 or head[2] not in _IDX_TYPES or head[3] == 0:
            raise ValueError(f"{path}: not an IDX file")
        nd = head[3]
        raw = f.read(4 * nd)
        if len(raw) != 4 * nd:
            raise ValueError(f"{path}: not an IDX file (its header ends early)")
        dims = [int.from_bytes(raw[4 * i:4 + 4 * i], "big") for i in range(nd)]
        dt = np.dtype(_IDX_TYPES[head[2]])
        size = math.prod(dims[1:]) * dt.itemsize  # one example
        if rows is None:
            body = f.read()
            if len(body) != dims[0] * size:
                raise ValueError(f"{path}: header {dims} promises {dims[0] * size} bytes, the file holds {len(body)}")
        else:
            if rows > dims[0]:
                raise ValueError(f"{path}: example {rows - 1} requested, the file holds {dims[0]}")
            body = f.read(rows * size)
            if len(body) != rows * size:
                raise ValueError(f"{path}: header {dims} promises {dims[0]} examples, the file ends within example {len(body) // size}")
    n = dims[0] if rows is None else rows
    return np.frombuffer(body, dtype=dt).reshape([n] + dims[1:]), dims[0]


def examples(path):
    """An IDX file of examples as float32 [n, *shape]; see as_examples."""
    return as_examples(read_idx(path))


def as_examples(a):
    """IDX elements as float32 examples [n, *shape]: unsigned bytes read as
    value/255, every other type as its value; a 1-D file holds scalars."""
    if a.ndim == 1:
        a = a.reshape(-1, 1)
    if a.dtype == np.uint8:
        return a.astype(np.float32) / np.float32(255)
    return a.astype(np.float32)


def val_count(frac, n):
    """How many of n pool examples a validation fraction holds out."""
    k = int(math.floor(frac * n + 0.5))
    if frac > 0 and n >= 2:
        k = min(max(k, 1), n - 1)
    return k


class Data:
    """The examples of one run, from the request's data contract.

    pool, test:               float32 arrays [n, *shape] (values in [0, 1] for MNIST)
    pool_labels, test_labels: int arrays [n], or None
    shape:                    one example's shape, e.g. (28, 28)
    split(frac) -> (train, val) and split_labels(frac) hold out validation
    examples exactly as the Go plugins' val_split does.
    """

    def __init__(self, contract, test_only=False):
        if contract is None or not contract.test_file:
            raise ValueError("the request carries no data contract (TrainRequest.data); "
                             "this plugin needs an aexp host that sends it")
        self.contract = contract
        self.pool = self.pool_labels = None
        if not test_only:
            self.pool, self.pool_labels = _take(contract.train_file, contract.train_labels_file, contract.pool)
        self.test, self.test_labels = _take(contract.test_file, contract.test_labels_file, contract.test)
        self.shape = tuple(self.test.shape[1:])
        if self.pool is not None and tuple(self.pool.shape[1:]) != self.shape:
            raise ValueError(f"training examples of shape {self.pool.shape[1:]} but test examples of shape {self.shape}")

    def _val_mask(self, frac):
        order = np.asarray(self.contract.val_order, dtype=np.int64)
        n = len(self.pool)
        if len(order) != n:
            raise ValueError(f"val_order has {len(order)} entries for a pool of {n}")
        mask = np.zeros(n, dtype=bool)
        mask[order[:val_count(frac, n)]] = True
        return mask

    def split(self, frac):
        """(train, val): the pool without and with the validation examples a
        fraction frac in [0, 1) holds out, both in pool order."""
        m = self._val_mask(frac)
        return self.pool[~m], self.pool[m]

    def split_labels(self, frac):
        """The labels of split(frac), or (None, None)."""
        if self.pool_labels is None:
            return None, None
        m = self._val_mask(frac)
        return self.pool_labels[~m], self.pool_labels[m]


_cache = {}  # path -> (the first examples read, how many the file holds)


def _take(path, labels, index):
    """The examples index of the file path (and their labels), reading the
    file only up to the last of them."""
    idx = np.asarray(index, dtype=np.int64)
    if len(idx) and idx.min() < 0:
        raise ValueError(f"{path}: example {int(idx.min())} requested")
    rows = int(idx.max()) + 1 if len(idx) else 0
    if path not in _cache or len(_cache[path][0]) < rows:
        _cache.clear()  # one file at a time
        _cache[path] = _read_idx(path, rows)
    raw, n = _cache[path]
    y = None
    if labels:
        lab, m = _read_idx(labels, rows)
        if lab.dtype != np.uint8 or lab.ndim != 1 or m != n:
            raise ValueError(f"{labels}: want {n} unsigned-byte labels")
        y = lab[idx].astype(np.int64)
    return as_examples(raw[idx]), y


def pca_mse(train, test, k):
    """The PCA baseline as the Go plugins compute it: PCA with k components
    fitted on train (mean-centred, covariance over n), the MSE per value of
    test's reconstruction from them. Arrays are [n, ...]."""
    tr = train.reshape(len(train), -1)
    te = test.reshape(len(test), -1)
    k = min(k, tr.shape[1])
    mean = tr.mean(axis=0, dtype=np.float64).astype(np.float32)
    c = (tr - mean).astype(np.float64)
    cov = c.T @ c / len(tr)
    _, vecs = np.linalg.eigh(cov)  # ascending
    comp = vecs[:, ::-1][:, :k].astype(np.float32)
    x = (te - mean).astype(np.float32)
    resid = x - (x @ comp) @ comp.T
    return float(np.mean(resid.astype(np.float64) ** 2))
