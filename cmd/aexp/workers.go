package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/aexp/aexp/cluster"
)

const workersHelp = `Usage: aexp workers --nats URL [--json]

List the live workers on a NATS server: host, slots, the variants each holds
(version and plugin binary hash) and the runs in flight.

Examples:
  aexp workers --nats nats://10.0.0.5:4222
  aexp workers --json | jq '.[].runs'

Flags:
`

func runWorkers(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("workers", workersHelp, stderr)
	conn := natsFlags(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseArgs(fs, args); err != nil {
		return err
	}
	co := conn()
	if co.URL == "" {
		return withCode(exitUsage, errors.New("workers: give --nats URL or set "+cluster.URLEnv))
	}
	ws, err := cluster.Workers(ctx, co)
	if err != nil {
		return err
	}
	sort.Slice(ws, func(i, j int) bool { return ws[i].ID < ws[j].ID })
	if *asJSON {
		if ws == nil {
			ws = []cluster.WorkerInfo{}
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(ws)
	}
	if len(ws) == 0 {
		fmt.Fprintln(stderr, "aexp: no live workers (start one: aexp worker --nats URL)")
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "WORKER\tHOST\tSLOTS\tBUSY\tVARIANTS\tRUNS")
	for _, w := range ws {
		vs := make([]string, len(w.Variants))
		for i, v := range w.Variants {
			h := v.Hash
			if len(h) > 12 {
				h = h[:12]
			}
			vs[i] = fmt.Sprintf("%s %s (%s)", v.Name, v.Version, h)
		}
		runs := strings.Join(w.Runs, "; ")
		if runs == "" {
			runs = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%s\n", w.ID, w.Host, w.Slots, len(w.Runs), strings.Join(vs, ", "), runs)
	}
	return tw.Flush()
}
