"""aexp_variant: write aexp variant plugins in Python.

A variant is a config dataclass (its typed, documented, bounded fields are
the parameter schema), a train(config, data, run) function, and serve():

    from dataclasses import dataclass
    from aexp_variant import Variant, param, serve

    @dataclass
    class Config:
        lr: float = param(1e-3, min=1e-7, max=1, doc="Adam learning rate")
        val_split: float = param(0.1, min=0, max=0.5, doc="fraction of the pool held out for val_loss")

    def train(cfg, data, run):
        x_train, x_val = data.split(cfg.val_split)
        for epoch in range(1, run.epochs + 1):
            ...                        # call run.check() every batch
            run.epoch(epoch, train_loss=tl, val_loss=vl)
            run.checkpoint({"w": w}, epoch, vl)
        return {"test_mse": mse, "pca_mse": pca_mse(x_train, data.test, k)}

    if __name__ == "__main__":
        serve(Variant(name="mine", version="0.1.0", doc="...", config=Config, train=train))

Install: put sdk/python on the Python path (PYTHONPATH=/path/to/aexp/sdk/python);
it needs Debian's python3-grpcio, python3-protobuf, python3-numpy and
python3-cryptography. Check a plugin with `aexp conform PATH`.
"""

from .data import Data, pca_mse, read_idx, val_count
from .params import ParamError, decode, param, schema
from .safetensors import dumps as safetensors_dumps, loads as safetensors_loads
from .server import Cancelled, Diverged, Final, Metric, Run, Variant, serve

__all__ = ["Data", "pca_mse", "read_idx", "val_count", "ParamError", "decode", "param", "schema",
           "safetensors_dumps", "safetensors_loads", "Cancelled", "Diverged", "Final", "Metric", "Run",
           "Variant", "serve"]
