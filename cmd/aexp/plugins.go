package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/aexp/aexp/variant"
)

const pluginsHelp = `Usage: aexp plugins [flags] [NAME...]

List the variant plugins aexp can find, with their version, capabilities,
parameters (type, default, range or choices, doc) and metrics. Each plugin
is started once to ask it (Describe) and stopped again.

Plugins are executables named aexp-variant-<name>, searched in order in
--plugin-dir, $AEXP_PLUGIN_DIR, the directory of the aexp executable, and
$PATH. Two different files with the same name are an error. A file that
does not work as a plugin is listed with the reason.

Exit status: 0 all plugins work, 1 a plugin is broken or duplicated.

Examples:
  aexp plugins
  aexp plugins vae dense
  aexp plugins --json | jq '.[] | {name, version}'
  aexp plugins --plugin-dir ./myplugins

Flags:
`

// pluginReport is one plugin in `aexp plugins` output (and its --json form).
type pluginReport struct {
	Name         string               `json:"name"`
	Path         string               `json:"path"`
	Version      string               `json:"version,omitempty"`
	Doc          string               `json:"doc,omitempty"`
	Capabilities []string             `json:"capabilities"`
	Params       []paramReport        `json:"params"`
	Metrics      []variant.MetricInfo `json:"metrics"`
	Error        string               `json:"error,omitempty"`
}

type paramReport struct {
	Name    string   `json:"name"`
	Type    string   `json:"type"`
	Default any      `json:"default"` // null: required
	Min     *float64 `json:"min,omitempty"`
	Max     *float64 `json:"max,omitempty"`
	Choices []string `json:"choices,omitempty"`
	Doc     string   `json:"doc"`
}

func runPlugins(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("plugins", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, pluginsHelp)
		fs.PrintDefaults()
	}
	pluginDir := fs.String("plugin-dir", "", "directory holding aexp-variant-* plugins (searched before $AEXP_PLUGIN_DIR, aexp's own directory and $PATH)")
	asJSON := fs.Bool("json", false, "print the plugins as a JSON array")
	timeout := fs.Duration("timeout", 30*time.Second, "how long each plugin may take to start and describe itself")
	var names []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil
			}
			return withCode(exitUsage, errors.New(""))
		}
		if fs.NArg() == 0 {
			break
		}
		names = append(names, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if *pluginDir != "" {
		if st, err := os.Stat(*pluginDir); err != nil || !st.IsDir() {
			return withCode(exitUsage, fmt.Errorf("--plugin-dir %s is not a directory", *pluginDir))
		}
	}

	found, discErr := variant.DiscoverDefault(*pluginDir)
	if len(names) > 0 {
		for _, n := range names {
			if _, ok := found[n]; !ok {
				return fmt.Errorf("no plugin named %q (looked for aexp-variant-%s in: %s)", n, n, strings.Join(variant.SearchDirs(*pluginDir), ", "))
			}
		}
		keep := map[string]string{}
		for _, n := range names {
			keep[n] = found[n]
		}
		found = keep
	}
	reports := describeAll(ctx, found, *timeout)
	if err := ctx.Err(); err != nil {
		return withCode(exitInterrupted, err)
	}

	broken := 0
	for _, r := range reports {
		if r.Error != "" {
			broken++
		}
	}

	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if reports == nil {
			reports = []pluginReport{}
		}
		if err := enc.Encode(reports); err != nil {
			return err
		}
	} else {
		writePluginsText(stdout, reports)
		if len(reports) == 0 && discErr == nil {
			fmt.Fprintf(stdout, "no plugins found (looked for aexp-variant-* in: %s)\nBuild them with `make build`, or point --plugin-dir or AEXP_PLUGIN_DIR at them.\n",
				strings.Join(variant.SearchDirs(*pluginDir), ", "))
		}
	}
	switch {
	case discErr != nil:
		return discErr
	case broken > 0:
		return fmt.Errorf("%d of %d plugins do not work (see above)", broken, len(reports))
	}
	return nil
}

// describeAll starts every plugin (a few at a time), asks Describe, and
// stops it.
func describeAll(ctx context.Context, found map[string]string, timeout time.Duration) []pluginReport {
	names := make([]string, 0, len(found))
	for n := range found {
		names = append(names, n)
	}
	sort.Strings(names)
	reports := make([]pluginReport, len(names))
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for i, n := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			reports[i] = describeOne(ctx, n, found[n], timeout)
		}()
	}
	wg.Wait()
	return reports
}

func describeOne(ctx context.Context, name, path string, timeout time.Duration) pluginReport {
	r := pluginReport{Name: name, Path: path, Capabilities: []string{}, Params: []paramReport{}, Metrics: []variant.MetricInfo{}}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	p, err := variant.Launch(ctx, path, variant.LaunchOptions{StartTimeout: timeout})
	if err != nil {
		r.Error = err.Error()
		return r
	}
	defer p.Kill()
	info, err := p.Describe(ctx)
	if err != nil {
		r.Error = "Describe: " + err.Error()
		return r
	}
	if info.Name != name {
		r.Error = fmt.Sprintf("the binary is named %s%s but describes itself as %q; rename it to %s%s",
			variant.BinaryPrefix, name, info.Name, variant.BinaryPrefix, info.Name)
	}
	r.Version, r.Doc = info.Version, info.Doc
	if info.Capabilities != nil {
		r.Capabilities = info.Capabilities
	}
	if info.Metrics != nil {
		r.Metrics = info.Metrics
	}
	for _, q := range info.Params {
		r.Params = append(r.Params, paramReport{
			Name: q.Name, Type: string(q.Type), Default: q.Default, Min: q.Min, Max: q.Max,
			Choices: q.Choices, Doc: q.Doc,
		})
	}
	return r
}

func writePluginsText(w io.Writer, reports []pluginReport) {
	for i, r := range reports {
		if i > 0 {
			fmt.Fprintln(w)
		}
		if r.Error != "" && r.Version == "" {
			fmt.Fprintf(w, "%s  BROKEN  %s\n", r.Name, r.Path)
			fmt.Fprintf(w, "  error: %s\n", pluginIndent(r.Error, "    "))
			continue
		}
		fmt.Fprintf(w, "%s %s  %s\n", r.Name, r.Version, r.Path)
		if r.Error != "" {
			fmt.Fprintf(w, "  error: %s\n", pluginIndent(r.Error, "    "))
		}
		if r.Doc != "" {
			fmt.Fprintf(w, "  %s\n", pluginIndent(r.Doc, "  "))
		}
		caps := "none"
		if len(r.Capabilities) > 0 {
			caps = strings.Join(r.Capabilities, ", ")
		}
		fmt.Fprintf(w, "  capabilities: %s\n", caps)
		if len(r.Params) > 0 {
			fmt.Fprintln(w, "  parameters:")
			tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "    NAME\tTYPE\tDEFAULT\tRANGE\tDOC")
			for _, q := range r.Params {
				fmt.Fprintf(tw, "    %s\t%s\t%s\t%s\t%s\n", q.Name, q.Type, pluginDefault(q.Default), pluginRange(q), q.Doc)
			}
			tw.Flush()
		}
		if len(r.Metrics) > 0 {
			fmt.Fprintln(w, "  metrics:")
			tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
			for _, m := range r.Metrics {
				fmt.Fprintf(tw, "    %s\t%s\t%s\n", m.Name, m.Goal, m.Doc)
			}
			tw.Flush()
		}
	}
}

func pluginIndent(s, pre string) string { return strings.ReplaceAll(s, "\n", "\n"+pre) }

func pluginNum(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

func pluginDefault(v any) string {
	switch x := v.(type) {
	case nil:
		return "(required)"
	case string:
		return strconv.Quote(x)
	case float64:
		return pluginNum(x)
	case []float64:
		s := make([]string, len(x))
		for i, f := range x {
			s[i] = pluginNum(f)
		}
		return "[" + strings.Join(s, ", ") + "]"
	case []int64:
		s := make([]string, len(x))
		for i, n := range x {
			s[i] = strconv.FormatInt(n, 10)
		}
		return "[" + strings.Join(s, ", ") + "]"
	}
	return fmt.Sprint(v)
}

func pluginRange(q paramReport) string {
	if len(q.Choices) > 0 {
		return strings.Join(q.Choices, "|")
	}
	if q.Min == nil && q.Max == nil {
		return "-"
	}
	lo, hi := "-inf", "inf"
	if q.Min != nil {
		lo = pluginNum(*q.Min)
	}
	if q.Max != nil {
		hi = pluginNum(*q.Max)
	}
	return "[" + lo + ", " + hi + "]"
}
