#!/usr/bin/env python3
"""PyTorch reference for `make bench`: trains one model on MNIST and prints
one JSON line {"case", "samples_per_s", "seconds", "cpu_seconds", "loss", ...}.

The models match bench/cmd/bench exactly (same layers, activations, loss,
Adam 1e-3, batch 128, MNIST pixels / 255). Only the training loop is timed
(data loading and model construction are not). Peak RSS is measured by the
driver from the process's rusage, the same way for both engines.

    OPENBLAS_NUM_THREADS=1 python3 bench/torch_speed.py --case dense --threads 1
"""
import argparse
import gzip
import json
import os
import struct
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def read_images(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, n, rows, cols = struct.unpack(">IIII", data[:16])
    if magic != 2051:
        sys.exit(f"{path}: not an IDX image file")
    x = torch.frombuffer(bytearray(data[16:]), dtype=torch.uint8)
    return x.view(n, rows * cols).float().div_(255)  # how such scripts usually hold MNIST


class Dense(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(784, 300), nn.SELU(), nn.Linear(300, 150), nn.SELU(),
            nn.Linear(150, 300), nn.SELU(), nn.Linear(300, 784), nn.Sigmoid())

    def loss(self, x):
        return F.mse_loss(self.net(x), x)


class VAE(nn.Module):
    def __init__(self, latent=20):
        super().__init__()
        self.enc = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU())
        self.mu = nn.Linear(256, latent)
        self.logvar = nn.Linear(256, latent)
        self.dec = nn.Sequential(
            nn.Linear(latent, 256), nn.ReLU(), nn.Linear(256, 512), nn.ReLU(), nn.Linear(512, 784))

    def loss(self, x):
        h = self.enc(x)
        mu, logvar = self.mu(h), self.logvar(h)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        rec = F.binary_cross_entropy_with_logits(self.dec(z), x, reduction="sum") / x.shape[0]
        kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp()) / x.shape[0]
        return rec + kl


class Recurrent(nn.Module):
    """Sequence-to-vector-to-sequence AE over the 28 rows of an image."""

    def __init__(self, cell, hidden=128, code=32, steps=28, features=28):
        super().__init__()
        rnn = nn.GRU if cell == "gru" else nn.LSTM
        self.steps, self.features = steps, features
        self.enc = rnn(features, hidden, batch_first=True)
        self.code = nn.Linear(hidden, code)
        self.dec = rnn(code, hidden, batch_first=True)
        self.out = nn.Linear(hidden, features)

    def loss(self, x):
        seq = x.view(-1, self.steps, self.features)
        hs, _ = self.enc(seq)
        c = self.code(hs[:, -1])
        ds, _ = self.dec(c.unsqueeze(1).expand(-1, self.steps, -1))
        y = torch.sigmoid(self.out(ds))
        return F.mse_loss(y, seq)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--case", required=True, choices=["dense", "vae", "gru", "lstm"])
    ap.add_argument("--data", required=True, help="folder with train-images-idx3-ubyte.gz")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--limit", type=int, default=0, help="train on the first N images (0: all)")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (0: leave default)")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()

    if a.threads > 0:
        torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    x = read_images(os.path.join(a.data, "train-images-idx3-ubyte.gz"))
    if a.limit > 0:
        x = x[: a.limit]
    model = {"dense": Dense, "vae": VAE}.get(a.case, lambda: Recurrent(a.case))()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    n = x.shape[0]
    total, seen = 0.0, 0
    start, cpu0 = time.perf_counter(), time.process_time()
    for _ in range(a.epochs):
        perm = torch.randperm(n)
        for i in range(0, n, a.batch):
            xb = x[perm[i : i + a.batch]]
            loss = model.loss(xb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * xb.shape[0]
            seen += xb.shape[0]
    secs, cpu = time.perf_counter() - start, time.process_time() - cpu0
    print(json.dumps({"case": a.case, "samples_per_s": seen / secs, "epochs": a.epochs,
                      "samples": seen, "seconds": secs, "cpu_seconds": cpu, "loss": total / seen,
                      "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
