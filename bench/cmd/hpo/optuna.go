package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"

	"github.com/aexp/aexp/search"
)

// optuna drives bench/hpo_optuna.py: Optuna asks, the Go objective answers.
type optuna struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Scanner
}

func startOptuna(script string) (*optuna, error) {
	cmd := exec.Command("/usr/bin/python3", script)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	return &optuna{cmd: cmd, in: in, out: sc}, nil
}

func (o *optuna) call(msg, reply any) error {
	b, _ := json.Marshal(msg)
	if _, err := o.in.Write(append(b, '\n')); err != nil {
		return err
	}
	if !o.out.Scan() {
		return fmt.Errorf("optuna script ended: %v", o.out.Err())
	}
	return json.Unmarshal(o.out.Bytes(), reply)
}

func (o *optuna) close() { o.in.Close(); o.cmd.Wait() }

type wireParam struct {
	Name string  `json:"name"`
	Kind string  `json:"kind"`
	Low  float64 `json:"low"`
	High float64 `json:"high"`
	Log  bool    `json:"log"`
	Step float64 `json:"step"`
	N    int     `json:"n"`
}

type wireBranch struct {
	Name   string      `json:"name"`
	Params []wireParam `json:"params"`
}

func wireSpace(s search.Space) []wireBranch {
	kinds := map[search.Kind]string{search.Float: "float", search.Int: "int", search.Categorical: "categorical"}
	var out []wireBranch
	for _, b := range s.Branches {
		wb := wireBranch{Name: b.Name}
		for _, p := range b.Params {
			wb.Params = append(wb.Params, wireParam{Name: p.Name, Kind: kinds[p.Kind], Low: p.Low, High: p.High, Log: p.Log, Step: p.Step, N: p.N})
		}
		out = append(out, wb)
	}
	return out
}

// study searches trials configurations of one problem with Optuna and
// returns the objective values in order.
func (o *optuna) study(s search.Space, sampler string, seed, trials int, eval func(search.Config) float64) ([]float64, error) {
	var ok struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}
	if err := o.call(map[string]any{"cmd": "study", "seed": seed, "space": wireSpace(s), "sampler": sampler}, &ok); err != nil || !ok.OK {
		return nil, fmt.Errorf("optuna study: %v %s", err, ok.Error)
	}
	vals := make([]float64, 0, trials)
	for range trials {
		var c search.Config
		if err := o.call(map[string]any{"cmd": "ask"}, &c); err != nil {
			return nil, err
		}
		v := eval(c)
		vals = append(vals, v)
		if err := o.call(map[string]any{"cmd": "tell", "value": v}, &ok); err != nil {
			return nil, err
		}
	}
	return vals, nil
}
