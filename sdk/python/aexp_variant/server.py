"""serve(): the plugin side of aexp's protocol, so a variant is a config
dataclass and a train function.

It does what aexp.proto asks of a plugin: checks the magic cookie, serves
gRPC over TLS on 127.0.0.1 with a fresh certificate for "localhost" that
trusts the host's PLUGIN_CLIENT_CERT (AutoMTLS), turns SO_REUSEPORT off,
serves grpc.health.v1.Health, prints the one handshake line and then sends
stdout to stderr, chunks artifacts, validates parameters (INVALID_ARGUMENT,
`parameter "name": ...`), turns a cancelled Train call into Cancelled in
the train function, and reports NaN losses as diverged.
"""

import base64
import datetime
import logging
import math
import os
import queue
import random
import sys
import threading
import time
import traceback
import uuid
from concurrent import futures
from dataclasses import dataclass, field

import grpc

from . import aexp_pb2 as pb
from . import aexp_pb2_grpc as pbg
from . import safetensors
from .data import Data
from .params import ParamError, decode, from_pb, schema

MAGIC_KEY, MAGIC_VALUE = "AEXP_PLUGIN", "aexp-variant-7d1f0c52"
PROTOCOL_VERSION = 1
CHUNK = 1 << 20
CANCEL_GRACE = 1.0  # seconds a train function may run on after cancellation

log = logging.getLogger("aexp_variant")


class Cancelled(Exception):
    """Raised inside the train function (by Run's methods) once the host has
    cancelled the run. Let it propagate."""


class Diverged(Exception):
    """Raise it when the loss became NaN or infinite; the host records the
    run as diverged."""

    def __init__(self, epoch, reason):
        super().__init__(f"diverged at epoch {epoch}: {reason}")
        self.epoch, self.reason = epoch, reason


@dataclass
class Metric:
    """A metric the variant reports beyond the shared ones (train_loss,
    val_loss, epoch_seconds, samples_per_second, test_mse, pca_mse), named
    as reported: val_x every epoch, test_x at the end."""
    name: str
    doc: str
    goal: str = "minimize"


@dataclass
class Final:
    """What a train function returns: test-set metrics (test_mse, pca_mse,
    its own) and facts (strings) such as the parameter count."""
    metrics: dict
    meta: dict = field(default_factory=dict)


@dataclass
class Variant:
    """A variant: its schema is the config dataclass; train(config, data,
    run) trains one run and returns a Final (or a dict of test metrics).

    Optional capabilities, from a checkpoint (tensors, metadata) the run sent:
      reconstruct(config, checkpoint, data, n) -> (input, output) arrays of
        data.test's first n examples;
      sample(config, checkpoint, n, seed) -> array [n, *shape] decoded from N(0, I).
    resumable=True declares that train sends run.state(...) after every
    epoch and continues from run.resume_state when it is set.
    """
    name: str
    version: str
    doc: str
    config: type
    train: object
    metrics: list = field(default_factory=list)
    reconstruct: object = None
    sample: object = None
    resumable: bool = False


class Run:
    """One Train call, as the train function sees it: the request's budget
    and the methods that report progress. Every method raises Cancelled
    once the host has cancelled the run."""

    def __init__(self, req, events, resume_state=None):
        self.request = req
        # The bytes of the "state" artifact of the run's last completed
        # epoch, sent in an earlier attempt (capability "resume"), or None.
        self.resume_state = resume_state
        self.run_key, self.seed, self.dataset = req.run_key, req.seed, req.dataset
        self.epochs = req.epochs if req.epochs > 0 else 5
        self.batch_size = req.batch_size if req.batch_size > 0 else 128
        self.threads = req.threads
        self.keep = req.keep or "last"
        self._events = events
        self._cancelled = threading.Event()
        self._best = math.inf

    @property
    def cancelled(self):
        return self._cancelled.is_set()

    def check(self):
        """Raise Cancelled if the host cancelled the run: call it every batch."""
        if self._cancelled.is_set():
            raise Cancelled()

    def _send(self, **event):
        self.check()
        self._events.put(pb.TrainEvent(**event))

    def epoch(self, n, **metrics):
        """Report epoch n (1-based): train_loss, val_loss and any val_*
        metrics. A NaN or infinite loss raises Diverged."""
        for k in ("train_loss", "val_loss"):
            if k not in metrics:
                raise ValueError(f"epoch {n}: {k} is missing")
            if not math.isfinite(metrics[k]):
                raise Diverged(n, f"{k} is {metrics[k]}")
        self._send(epoch=pb.EpochReport(epoch=n, metrics={k: float(v) for k, v in metrics.items()}))

    def log(self, text, level="info"):
        """A line for the host's log ("debug", "info" or "warn")."""
        self._send(log=pb.LogLine(level=level, text=text))

    def artifact(self, kind, name, data, epoch=0, format="safetensors", meta=None):
        """Send an artifact ("checkpoint", "reconstruction", "sample",
        "latent") of any size; it travels in 1 MiB chunks."""
        self.check()
        for c in _chunks(kind, name, data, epoch, format, meta):
            self._events.put(pb.TrainEvent(artifact=c))

    @property
    def best_val_loss(self):
        """The best val_loss run.checkpoint has seen (keep = "best"); save
        it in the state and set it again when resuming."""
        return self._best

    @best_val_loss.setter
    def best_val_loss(self, v):
        self._best = v

    def state(self, data, epoch, format="raw"):
        """Send the training state after epoch (capability "resume"):
        whatever bytes train needs to continue exactly from there. Send it
        last, after the epoch's report and checkpoint."""
        self.artifact("state", "state.bin", data, epoch=epoch, format=format)

    def resumed(self, epoch):
        """Say that train continues from run.resume_state, whose last
        completed epoch is epoch; report epoch + 1 next."""
        self._send(resumed=pb.Resumed(epoch=epoch))

    def checkpoint(self, tensors, epoch, val_loss, meta=None):
        """Send tensors (name -> numpy array) as the checkpoint of epoch if
        the request's keep policy wants it ("last": the last epoch; "best":
        a new best val_loss; "all": every epoch). Returns whether it did."""
        best = val_loss < self._best
        self._best = min(self._best, val_loss)
        if not (self.keep == "all" or (self.keep == "best" and best) or (self.keep == "last" and epoch == self.epochs)):
            return False
        m = {"epoch": epoch, "val_loss": repr(float(val_loss)), "run_key": self.run_key, "dataset": self.dataset}
        m.update(meta or {})
        self.artifact("checkpoint", f"model-epoch{epoch}.safetensors", safetensors.dumps(tensors, m),
                      epoch=epoch, meta={"val_loss": m["val_loss"], **({"shape": m["shape"]} if "shape" in m else {})})
        return True


def _chunks(kind, name, data, epoch, format, meta):
    data = bytes(data)
    for off in range(0, max(len(data), 1), CHUNK):
        c = pb.ArtifactChunk(data=data[off:off + CHUNK], last=off + CHUNK >= len(data))
        if off == 0:
            c.header.CopyFrom(pb.ArtifactHeader(kind=kind, name=name, epoch=epoch, format=format,
                                                meta={k: str(v) for k, v in (meta or {}).items()}, size=len(data)))
        yield c


_DONE = object()


class _Servicer(pbg.VariantServicer):
    def __init__(self, v):
        self.v = v
        self.states = {}  # PutState id -> state bytes, until its Train call
        self.lock = threading.Lock()
        schema(v.config)  # a malformed config fails at start, not at the first call

    def Describe(self, request, context):
        caps = [c for c, f in (("sample", self.v.sample), ("reconstruct", self.v.reconstruct),
                               ("resume", self.v.resumable)) if f]
        return pb.DescribeResponse(
            name=self.v.name, version=self.v.version, doc=self.v.doc, params=schema(self.v.config),
            metrics=[pb.MetricInfo(name=m.name, doc=m.doc, goal=m.goal) for m in self.v.metrics],
            capabilities=caps)

    def _config(self, params, context):
        try:
            return decode(self.v.config, {k: from_pb(v) for k, v in params.items()})
        except ParamError as e:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(e))

    def Train(self, request, context):
        cfg = self._config(request.params, context)
        events = queue.Queue()
        state = None
        if request.resume_state:
            with self.lock:
                state = self.states.pop(request.resume_state, None)
            if state is None:  # allowed: start at epoch 1; the host drops what it recorded
                log.warning("unknown resume_state %r: training from epoch 1", request.resume_state)
        run = Run(request, events, state)
        finished = threading.Event()

        def work():
            try:
                data = Data(request.data)
                out = self.v.train(cfg, data, run)
                if not isinstance(out, Final):
                    out = Final(dict(out or {}))
                bad = [k for k, x in out.metrics.items() if not math.isfinite(x)]
                if bad:
                    raise Diverged(run.epochs, f"{bad[0]} is {out.metrics[bad[0]]}")
                run.check()
                events.put(pb.TrainEvent(final=pb.FinalReport(
                    metrics={k: float(x) for k, x in out.metrics.items()},
                    meta={k: str(x) for k, x in out.meta.items()})))
            except Cancelled:
                pass
            except Diverged as e:
                events.put(pb.TrainEvent(diverged=pb.Diverged(epoch=e.epoch, reason=e.reason)))
            except ParamError as e:
                events.put((grpc.StatusCode.INVALID_ARGUMENT, str(e)))
            except Exception as e:  # the run fails with the message; the traceback goes to stderr
                traceback.print_exc(file=sys.stderr)
                events.put((grpc.StatusCode.UNKNOWN, f"{type(e).__name__}: {e}"))
            finally:
                finished.set()
                events.put(_DONE)

        def on_done():  # the call ended: finished, failed or cancelled by the host
            run._cancelled.set()
            events.put(_DONE)
            if not finished.is_set():
                threading.Thread(target=watch, args=(time.monotonic(),), daemon=True).start()

        def watch(t0):  # the conformance kit waits for one of these two lines
            if finished.wait(CANCEL_GRACE):
                log.info("Train returned %.3fs after its context was cancelled", time.monotonic() - t0)
            else:
                log.warning("Train still running %.0fs after its context was cancelled; "
                            "call run.check() every batch", CANCEL_GRACE)

        context.add_callback(on_done)
        threading.Thread(target=work, name="train", daemon=True).start()
        while True:
            ev = events.get()
            if ev is _DONE:
                if run.cancelled and not finished.is_set():
                    context.abort(grpc.StatusCode.CANCELLED, "cancelled")
                return
            if isinstance(ev, tuple):
                context.abort(*ev)
            yield ev

    def PutState(self, request_iterator, context):
        if not self.v.resumable:
            context.abort(grpc.StatusCode.UNIMPLEMENTED, f"{self.v.name} does not resume runs")
        data = b"".join(c.data for c in request_iterator)
        sid = uuid.uuid4().hex
        with self.lock:
            self.states[sid] = data
        return pb.PutStateResponse(id=sid)

    def _checkpoint_call(self, requests, context, name):
        first, parts = None, []
        for m in requests:
            if first is None:
                first = m
            parts.append(m.checkpoint_chunk)
        if first is None or not first.HasField("header"):
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"the first {name} message has no header")
        h = first.header
        try:
            tensors, meta = safetensors.loads(b"".join(parts))
        except ValueError as e:
            context.abort(grpc.StatusCode.UNKNOWN, f"reading the checkpoint: {e}")
        return h, self._config(h.params, context), (tensors, meta)

    def _reply(self, context, kind, name, fn):
        try:
            tensors, shape = fn()
        except ParamError as e:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(e))
        except Exception as e:
            traceback.print_exc(file=sys.stderr)
            context.abort(grpc.StatusCode.UNKNOWN, f"{type(e).__name__}: {e}")
        data = safetensors.dumps(tensors)
        yield from _chunks(kind, name, data, 0, "safetensors", {"shape": ",".join(map(str, shape))})

    def Sample(self, request_iterator, context):
        if not self.v.sample:
            context.abort(grpc.StatusCode.UNIMPLEMENTED, f"{self.v.name} does not implement Sample")
        h, cfg, ckpt = self._checkpoint_call(request_iterator, context, "Sample")

        def fn():
            x = self.v.sample(cfg, ckpt, h.n if h.n > 0 else 64, h.seed)
            return {"sample": x.astype("float32")}, x.shape[1:]
        yield from self._reply(context, "sample", "samples.safetensors", fn)

    def Reconstruct(self, request_iterator, context):
        if not self.v.reconstruct:
            context.abort(grpc.StatusCode.UNIMPLEMENTED, f"{self.v.name} does not implement Reconstruct")
        h, cfg, ckpt = self._checkpoint_call(request_iterator, context, "Reconstruct")

        def fn():
            data = Data(h.data, test_only=True)
            x, y = self.v.reconstruct(cfg, ckpt, data, h.n if h.n > 0 else 16)
            return {"input": x.astype("float32"), "output": y.astype("float32")}, x.shape[1:]
        yield from self._reply(context, "reconstruction", "reconstructions.safetensors", fn)


# grpc.health.v1.Health, by hand (Debian packages no grpcio-health-checking):
# every service is SERVING. The response message is one enum field:
# status (1) = SERVING (1), encoded as the bytes 08 01.
_SERVING = b"\x08\x01"


class _Health(grpc.GenericRpcHandler):
    def service(self, details):
        if details.method == "/grpc.health.v1.Health/Check":
            return grpc.unary_unary_rpc_method_handler(lambda req, ctx: _SERVING)
        if details.method == "/grpc.health.v1.Health/Watch":
            def watch(req, ctx):
                yield _SERVING
                done = threading.Event()
                ctx.add_callback(done.set)
                done.wait()
            return grpc.unary_stream_rpc_method_handler(watch)
        return None


def _certificate():
    """A fresh self-signed ECDSA certificate for DNS name localhost (what
    the Go host checks): (key PEM, certificate PEM, certificate DER)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "aexp_variant")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=1)).not_valid_after(now + datetime.timedelta(days=365))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_encipherment=True, key_cert_sign=True,
                                         content_commitment=False, data_encipherment=False, key_agreement=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return key_pem, cert.public_bytes(serialization.Encoding.PEM), cert.public_bytes(serialization.Encoding.DER)


def _bind(server, creds):
    """Listen on 127.0.0.1 in the host's PLUGIN_MIN_PORT..PLUGIN_MAX_PORT
    (any free port when unset); returns the port."""
    lo, hi = int(os.environ.get("PLUGIN_MIN_PORT") or 0), int(os.environ.get("PLUGIN_MAX_PORT") or 0)
    if 0 < lo <= hi:
        for port in random.sample(range(lo, hi + 1), min(50, hi - lo + 1)):
            try:
                if server.add_secure_port(f"127.0.0.1:{port}", creds) == port:
                    return port
            except RuntimeError:
                continue
    return server.add_secure_port("127.0.0.1:0", creds)


def serve(variant):
    """Serve variant as an aexp plugin until the host kills the process.
    Call it from __main__ and do nothing else there. Started by hand
    (without the host's magic cookie) it explains itself and exits 1."""
    prog = os.path.basename(sys.argv[0])
    if os.environ.get(MAGIC_KEY) != MAGIC_VALUE:
        sys.stderr.write(f"{prog} is an aexp variant plugin: aexp starts it, one process per run.\n"
                         "Put it in a plugin directory (next to aexp, in $AEXP_PLUGIN_DIR or on $PATH) "
                         "and run `aexp plugins`.\n")
        sys.exit(1)
    client_cert = os.environ.get("PLUGIN_CLIENT_CERT", "")
    if "BEGIN CERTIFICATE" not in client_cert:
        sys.stderr.write(f"{prog}: PLUGIN_CLIENT_CERT is missing: the host must use AutoMTLS\n")
        sys.exit(1)
    logging.basicConfig(stream=sys.stderr, level=os.environ.get("AEXP_PLUGIN_LOG_LEVEL", "WARNING").upper(),
                        format="[%(levelname)s] %(name)s: %(message)s")
    key_pem, cert_pem, der = _certificate()
    creds = grpc.ssl_server_credentials([(key_pem, cert_pem)], root_certificates=client_cert.encode(),
                                        require_client_auth=True)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=16), options=[
        ("grpc.so_reuseport", 0),  # else two plugins may share a port and the host reaches the wrong one
        ("grpc.max_receive_message_length", 1 << 30), ("grpc.max_send_message_length", 1 << 30)])
    pbg.add_VariantServicer_to_server(_Servicer(variant), server)
    server.add_generic_rpc_handlers([_Health()])
    port = _bind(server, creds)
    server.start()
    cert = base64.b64encode(der).decode().rstrip("=")
    sys.stdout.write(f"1|{PROTOCOL_VERSION}|tcp|127.0.0.1:{port}|grpc|{cert}\n")
    sys.stdout.flush()
    # Stdout is the handshake channel: from now on everything, including
    # what C extensions print, goes to stderr.
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    server.wait_for_termination()
