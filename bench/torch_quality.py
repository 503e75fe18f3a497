#!/usr/bin/env python3
"""PyTorch reference for aexp's quality table (issue 4).

Trains the same eight settings `make quality` trains, with the same
architectures and the same training: 60,000 MNIST training images, batch 128
(shuffled every epoch, last partial batch kept), Adam lr 1e-3 (betas 0.9/0.999,
eps 1e-8), 5 epochs, float32, PyTorch's default initialisation; test = the
10,000 MNIST test images, MSE averaged over pixels.

    /usr/bin/python3 bench/torch_quality.py                 # all rows, 1 thread
    /usr/bin/python3 bench/torch_quality.py --rows dense-selu,vae-20 --seeds 0,1

Prints one line per row and metric:

    TORCH <setting> <metric>=<value> seed=<seed> seconds=<training seconds>

MNIST is read from the same IDX .gz files aexp uses (AEXP_MNIST_DIR, else the
GoMNIST module in the Go module cache).
"""

import argparse
import gzip
import os
import struct
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

MNIST_MOD = "github.com/petar/!go!m!n!i!s!t@v0.0.0-20150320212226-2fbe10d0fa63"


def mnist_dir():
    d = os.environ.get("AEXP_MNIST_DIR")
    if d:
        return d
    try:
        cache = subprocess.run(["go", "env", "GOMODCACHE"], capture_output=True, text=True).stdout.strip()
    except OSError:
        cache = ""
    if not cache:
        cache = os.path.join(os.environ.get("GOPATH", os.path.expanduser("~/go")), "pkg", "mod")
    return os.path.join(cache, MNIST_MOD, "data")


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    zero, dtype, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    dims = struct.unpack(">" + "I" * ndim, data[4 : 4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_mnist(d):
    def images(name):
        x = read_idx(os.path.join(d, name))
        return torch.from_numpy(x.reshape(x.shape[0], -1).astype(np.float32) / 255.0)

    def labels(name):
        return torch.from_numpy(read_idx(os.path.join(d, name)).astype(np.int64))

    return (
        images("train-images-idx3-ubyte.gz"),
        labels("train-labels-idx1-ubyte.gz"),
        images("t10k-images-idx3-ubyte.gz"),
        labels("t10k-labels-idx1-ubyte.gz"),
    )


# ---------------------------------------------------------------- models

ACT = {"selu": nn.SELU, "relu": nn.ReLU, "elu": nn.ELU, "tanh": nn.Tanh}


class Dense(nn.Module):
    """784-300-150-300-784: the activation after every hidden layer
    (the code layer included), sigmoid output. Optional input corruption
    (training only unless corrupt=True is passed)."""

    def __init__(self, act, hidden=(300, 150), noise=None, noise_std=0.2, noise_rate=0.5):
        super().__init__()
        widths = [784, *hidden, *reversed(hidden[:-1]), 784]
        layers = []
        for i in range(len(widths) - 1):
            layers.append(nn.Linear(widths[i], widths[i + 1]))
            layers.append(ACT[act]() if i < len(widths) - 2 else nn.Sigmoid())
        self.net = nn.Sequential(*layers)
        self.noise, self.noise_std, self.noise_rate = noise, noise_std, noise_rate

    def corrupt(self, x):
        if self.noise == "gauss":
            return x + self.noise_std * torch.randn_like(x)
        if self.noise == "dropout":
            return F.dropout(x, self.noise_rate, training=True)  # inverted dropout
        return x

    def forward(self, x, corrupt=None):
        if corrupt is None:
            corrupt = self.training
        if corrupt:
            x = self.corrupt(x)
        return self.net(x)

    def loss(self, x):
        return F.mse_loss(self(x), x)


class VAE(nn.Module):
    """784-512-256-(latent)-256-512-784, ReLU hidden, linear mu and log-variance
    heads, sigmoid output; loss per example = BCE summed over pixels + beta KL."""

    def __init__(self, latent, hidden=(512, 256), beta=1.0):
        super().__init__()
        enc, w = [], 784
        for h in hidden:
            enc += [nn.Linear(w, h), nn.ReLU()]
            w = h
        self.enc = nn.Sequential(*enc)
        self.mu = nn.Linear(w, latent)
        self.logvar = nn.Linear(w, latent)
        dec, w = [], latent
        for h in reversed(hidden):
            dec += [nn.Linear(w, h), nn.ReLU()]
            w = h
        dec += [nn.Linear(w, 784)]
        self.dec = nn.Sequential(*dec)
        self.beta = beta

    def parts(self, x):
        h = self.enc(x)
        mu, logvar = self.mu(h), self.logvar(h)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        out = torch.sigmoid(self.dec(z))
        rec = F.binary_cross_entropy(out, x, reduction="none").sum(1)
        kl = -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(1)
        return rec, kl, mu

    def loss(self, x):
        rec, kl, _ = self.parts(x)
        return (rec + self.beta * kl).mean()


class RecurrentAE(nn.Module):
    """Rows of the image as a sequence: the encoder cell runs over the 28 rows,
    its last hidden state maps linearly to the code; the decoder cell gets the
    code at every one of the 28 steps; each decoder hidden state maps linearly
    to 28 outputs with a sigmoid. Loss: MSE over all pixels."""

    def __init__(self, cell, hidden=128, code=32, steps=28, features=28, init="pytorch"):
        super().__init__()
        rnn = {"gru": nn.GRU, "lstm": nn.LSTM}[cell]
        self.enc = rnn(features, hidden, batch_first=True)
        self.to_code = nn.Linear(hidden, code)
        self.dec = rnn(code, hidden, batch_first=True)
        self.out = nn.Linear(hidden, features)
        self.steps, self.features = steps, features
        if init == "orthogonal":  # aexp's rnn init = "orthogonal" (Keras's defaults)
            for layer in (self.enc, self.dec):
                keras_init(layer, cell, hidden)

    def forward(self, x):
        seq = x.view(-1, self.steps, self.features)
        _, h = self.enc(seq)
        if isinstance(h, tuple):  # LSTM: (h, c)
            h = h[0]
        code = self.to_code(h[-1])
        y, _ = self.dec(code.unsqueeze(1).expand(-1, self.steps, -1))
        return torch.sigmoid(self.out(y)).reshape(x.shape)

    def loss(self, x):
        return F.mse_loss(self(x), x)


@torch.no_grad()
def keras_init(layer, cell, hidden):
    """Glorot-uniform input weights, an orthogonal matrix per gate for the
    recurrent weights, zero biases except the LSTM forget gate's 1."""
    for name, p in layer.named_parameters():
        if name.startswith("weight_ih"):
            nn.init.xavier_uniform_(p)
        elif name.startswith("weight_hh"):
            for block in p.split(hidden, 0):
                nn.init.orthogonal_(block)
        else:
            p.zero_()
            if cell == "lstm" and name.startswith("bias_ih"):  # gates i, f, g, o
                p[hidden : 2 * hidden] = 1


ROWS = {
    # name: (constructor, evaluation)
    "dense-selu": (lambda: Dense("selu"), "dense"),
    "dense-relu": (lambda: Dense("relu"), "dense"),
    "denoise-gauss": (lambda: Dense("selu", noise="gauss", noise_std=0.2), "denoise"),
    "denoise-dropout": (lambda: Dense("selu", noise="dropout", noise_rate=0.5), "denoise"),
    "vae-20": (lambda: VAE(20), "vae"),
    "vae-2": (lambda: VAE(2), "vae"),
    "rnn-gru": (lambda init: RecurrentAE("gru", init=init), "dense"),
    "rnn-lstm": (lambda init: RecurrentAE("lstm", init=init), "dense"),
}


@torch.no_grad()
def evaluate(model, kind, x, seed, batch=1000):
    model.eval()
    g = torch.Generator().manual_seed(seed + 1)
    out = {}
    if kind in ("dense", "denoise"):
        se = se_noisy = 0.0
        for i in range(0, len(x), batch):
            xb = x[i : i + batch]
            se += F.mse_loss(model(xb), xb, reduction="sum").item()
            if kind == "denoise":
                torch.manual_seed(seed + 1 + i)
                se_noisy += F.mse_loss(model(xb, corrupt=True), xb, reduction="sum").item()
        out["test_mse"] = se / x.numel()
        if kind == "denoise":
            out["test_mse_noisy"] = se_noisy / x.numel()
    else:  # vae
        torch.manual_seed(seed + 1)
        rec = kl = se = 0.0
        for i in range(0, len(x), batch):
            xb = x[i : i + batch]
            r, k, mu = model.parts(xb)
            rec += r.sum().item()
            kl += k.sum().item()
            se += F.mse_loss(torch.sigmoid(model.dec(mu)), xb, reduction="sum").item()
        n = len(x)
        out["test_neg_elbo"] = (rec + kl) / n
        out["test_rec"] = rec / n
        out["test_kl"] = kl / n
        out["test_mse"] = se / x.numel()
    model.train()
    return out


def run(name, xtr, xte, seed, epochs, batch, lr, log, init="pytorch"):
    make, kind = ROWS[name]
    torch.manual_seed(seed)
    model = make(init) if name.startswith("rnn-") else make()
    opt = torch.optim.Adam(model.parameters(), lr=lr, betas=(0.9, 0.999), eps=1e-8)
    gen = torch.Generator().manual_seed(seed)
    n = len(xtr)
    t0 = time.time()
    for epoch in range(1, epochs + 1):
        perm = torch.randperm(n, generator=gen)
        total, te = 0.0, time.time()
        for i in range(0, n, batch):
            xb = xtr[perm[i : i + batch]]
            loss = model.loss(xb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(xb)
        log(f"# {name} seed={seed} epoch {epoch} train_loss={total / n:.6f} ({time.time() - te:.1f}s)")
    secs = time.time() - t0
    return evaluate(model, kind, xte, seed), secs


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", default=",".join(ROWS), help="comma-separated settings: " + ",".join(ROWS))
    p.add_argument("--seeds", default="0")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--train-limit", type=int, default=0)
    p.add_argument("--test-limit", type=int, default=0)
    p.add_argument("--init", default="pytorch", choices=("pytorch", "orthogonal"), help="rnn rows: initial weights")
    a = p.parse_args()
    torch.set_num_threads(a.threads)

    def log(s):
        print(s, file=sys.stderr, flush=True)

    xtr, _, xte, _ = load_mnist(mnist_dir())
    if a.train_limit:
        xtr = xtr[: a.train_limit]
    if a.test_limit:
        xte = xte[: a.test_limit]
    log(f"# torch {torch.__version__}, {torch.get_num_threads()} thread(s), train {len(xtr)}, test {len(xte)}")
    for name in a.rows.split(","):
        if name not in ROWS:
            sys.exit(f"unknown row {name!r}; rows: {', '.join(ROWS)}")
        for seed in (int(s) for s in a.seeds.split(",")):
            metrics, secs = run(name, xtr, xte, seed, a.epochs, a.batch, a.lr, log, a.init)
            for k, v in metrics.items():
                print(f"TORCH {name} {k}={v:.6g} seed={seed} seconds={secs:.0f}", flush=True)


if __name__ == "__main__":
    main()
