#!/usr/bin/python3
"""Optuna's TPESampler (Debian python3-optuna 3.1) as the reference for
`make hpo-bench`, driven over stdin/stdout by bench/cmd/hpo in JSON lines,
so both samplers search exactly the same problems evaluated by the same Go
code:

    -> {"cmd": "study", "seed": 3, "space": [{"name": "sgd", "params": [...]}, ...],
        "sampler": "tpe"}                       (or "random")
    <- {"ok": true}
    -> {"cmd": "ask"}
    <- {"branch": 1, "values": [0.001, 0.95, 1]}
    -> {"cmd": "tell", "value": 0.42}
    <- {"ok": true}

A parameter is {"name", "kind": "float"|"int"|"categorical", "low", "high",
"log", "step", "n"}; categoricals are answered as indices. With several
branches the branch is a categorical parameter ("branch") and each branch's
parameters exist only in its trials (Optuna's define-by-run conditional
space); their names are prefixed with the branch's name.
"""
import json
import sys

import optuna

optuna.logging.set_verbosity(optuna.logging.ERROR)


def suggest(trial, prefix, p):
    name = prefix + p["name"]
    kind = p["kind"]
    if kind == "categorical":
        return float(trial.suggest_categorical(name, list(range(p["n"]))))
    step = p.get("step") or None
    if kind == "int":
        return float(trial.suggest_int(name, int(p["low"]), int(p["high"]), step=int(step or 1), log=p.get("log", False)))
    if p.get("log"):
        step = None  # Optuna has no stepped log floats; aexp's q_log_uniform is not in the benchmark
    return trial.suggest_float(name, p["low"], p["high"], step=step, log=p.get("log", False))


def main():
    study = trial = space = None
    for line in sys.stdin:
        msg = json.loads(line)
        cmd = msg["cmd"]
        if cmd == "study":
            space = msg["space"]
            if msg.get("sampler") == "random":
                sampler = optuna.samplers.RandomSampler(seed=msg["seed"])
            else:
                sampler = optuna.samplers.TPESampler(seed=msg["seed"], multivariate=msg.get("multivariate", False))
            study = optuna.create_study(sampler=sampler, direction="minimize")
            out = {"ok": True}
        elif cmd == "ask":
            trial = study.ask()
            branch = 0
            if len(space) > 1:
                branch = trial.suggest_categorical("branch", list(range(len(space))))
            prefix = space[branch]["name"] + "_" if len(space) > 1 else ""
            values = [suggest(trial, prefix, p) for p in space[branch]["params"]]
            out = {"branch": branch, "values": values}
        elif cmd == "tell":
            study.tell(trial, msg["value"])
            out = {"ok": True}
        else:
            out = {"error": "unknown command " + cmd}
        sys.stdout.write(json.dumps(out) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
