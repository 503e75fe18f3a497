package viz

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Table is a rendered comparison: a header and rows of cells, with the
// columns that hold numbers marked so text output can right-align them.
type Table struct {
	Header  []string
	Rows    [][]string
	Numeric []bool
}

// Table lays the comparison out one row per group: runs, (n), (status),
// variant, the params that differ, the objective's final and best values,
// the other final metrics, epochs, training time and parameter count.
// Groups of several seeds show mean ± std.
func (c Comparison) Table() Table {
	multi, notDone := false, false
	for _, g := range c.Groups {
		multi = multi || len(g.Runs) > 1
		for _, r := range g.Runs {
			notDone = notDone || r.Status != "done"
		}
	}
	var t Table
	col := func(name string, numeric bool) {
		t.Header = append(t.Header, name)
		t.Numeric = append(t.Numeric, numeric)
	}
	col("runs", false)
	if multi {
		col("n", true)
	}
	if notDone {
		col("status", false)
	}
	col("variant", false)
	for _, p := range c.Differ {
		col(p, false)
	}
	col(c.Objective.Metric, true)
	col("best "+c.Objective.Metric, true)
	for _, m := range c.Metrics {
		col(m, true)
	}
	col("epochs", true)
	col("train time", true)
	col("params", true)
	for _, g := range c.Groups {
		var row []string
		ids := make([]string, len(g.Runs))
		for i, r := range g.Runs {
			ids[i] = strconv.FormatInt(r.ID, 10)
		}
		row = append(row, strings.Join(ids, ","))
		if multi {
			row = append(row, strconv.Itoa(len(g.Runs)))
		}
		if notDone {
			row = append(row, statuses(g.Runs))
		}
		row = append(row, g.Variant)
		for _, p := range c.Differ {
			v, ok := g.Params[p]
			if !ok {
				row = append(row, "—")
				continue
			}
			row = append(row, FormatValue(v))
		}
		row = append(row, fmtStat(g.Final, fmtNum), fmtStat(g.Best, fmtNum))
		for _, m := range c.Metrics {
			row = append(row, fmtStat(g.Metrics[m], fmtNum))
		}
		row = append(row, fmtStat(g.Epochs, func(x float64) string { return strconv.FormatFloat(x, 'g', 3, 64) }))
		row = append(row, fmtStat(g.Seconds, FormatSeconds))
		if g.ParamCount != nil {
			row = append(row, fmtCount(*g.ParamCount))
		} else {
			row = append(row, "—")
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}

// Status is the status of the group's runs as the table shows it: one word
// when they agree, else each with its count (done×2 failed×1).
func (g Group) Status() string { return statuses(g.Runs) }

func statuses(rs []RunRow) string {
	var order []string
	n := map[string]int{}
	for _, r := range rs {
		if n[r.Status] == 0 {
			order = append(order, r.Status)
		}
		n[r.Status]++
	}
	if len(order) == 1 {
		return order[0]
	}
	parts := make([]string, len(order))
	for i, s := range order {
		parts[i] = fmt.Sprintf("%s×%d", s, n[s])
	}
	return strings.Join(parts, " ")
}

func fmtStat(s *Stat, f func(float64) string) string {
	switch {
	case s == nil:
		return "—"
	case s.N > 1 && s.Std != 0:
		return f(s.Mean) + " ± " + f(s.Std)
	}
	return f(s.Mean)
}

func fmtNum(x float64) string {
	switch ax := math.Abs(x); {
	case ax >= 1e4 && ax < 1e15:
		return fmtCount(int64(math.Round(x)))
	case x != 0 && (ax < 1e-4 || ax >= 1e15):
		return strconv.FormatFloat(x, 'e', 2, 64)
	}
	return strconv.FormatFloat(x, 'g', 4, 64)
}

// FormatSeconds prints a duration in seconds as 0.42s, 12.3s, 2m05s or 1h02m.
func FormatSeconds(s float64) string {
	switch {
	case s < 10:
		return strconv.FormatFloat(s, 'f', 2, 64) + "s"
	case s < 60:
		return strconv.FormatFloat(s, 'f', 1, 64) + "s"
	case s < 3600:
		m := int(s) / 60
		return fmt.Sprintf("%dm%02ds", m, int(s)-60*m)
	}
	h := int(s) / 3600
	return fmt.Sprintf("%dh%02dm", h, (int(s)-3600*h)/60)
}

// FormatBytes prints a size as 512 B, 10.3 KiB or 1.5 MiB.
func FormatBytes(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

func fmtCount(n int64) string {
	s := strconv.FormatInt(n, 10)
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 && r != '-' && s[i-1] != '-' {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Summary is the one-line caption above a table.
func (c Comparison) Summary() string {
	runs := 0
	for _, g := range c.Groups {
		runs += len(g.Runs)
	}
	s := fmt.Sprintf("objective: %s (%s) · %d run%s", c.Objective.Metric, c.Objective.Goal, runs, plural(runs))
	if len(c.Groups) != runs {
		s += fmt.Sprintf(" in %d groups (same params, different seeds: mean ± std)", len(c.Groups))
	}
	return s
}

// WriteText prints the table aligned for a terminal, under its summary line.
func (c Comparison) WriteText(w io.Writer) error {
	t := c.Table()
	width := make([]int, len(t.Header))
	for i, h := range t.Header {
		width[i] = utf8.RuneCountInString(h)
	}
	for _, row := range t.Rows {
		for i, cell := range row {
			width[i] = max(width[i], utf8.RuneCountInString(cell))
		}
	}
	var b strings.Builder
	b.WriteString(c.Summary() + "\n\n")
	line := func(cells []string) {
		for i, cell := range cells {
			pad := strings.Repeat(" ", width[i]-utf8.RuneCountInString(cell))
			if i > 0 {
				b.WriteString("  ")
			}
			if t.Numeric[i] {
				b.WriteString(pad + cell)
			} else if i == len(cells)-1 {
				b.WriteString(cell)
			} else {
				b.WriteString(cell + pad)
			}
		}
		b.WriteString("\n")
	}
	line(t.Header)
	for _, row := range t.Rows {
		line(row)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteMarkdown prints the table as a GitHub-flavoured Markdown table.
func (c Comparison) WriteMarkdown(w io.Writer) error {
	t := c.Table()
	var b strings.Builder
	b.WriteString(c.Summary() + "\n\n")
	esc := func(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
	b.WriteString("|")
	for _, h := range t.Header {
		b.WriteString(" " + esc(h) + " |")
	}
	b.WriteString("\n|")
	for i := range t.Header {
		if t.Numeric[i] {
			b.WriteString(" ---: |")
		} else {
			b.WriteString(" --- |")
		}
	}
	b.WriteString("\n")
	for _, row := range t.Rows {
		b.WriteString("|")
		for _, cell := range row {
			b.WriteString(" " + esc(cell) + " |")
		}
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteJSON prints the whole comparison (groups with their runs) as indented JSON.
func (c Comparison) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(c)
}

// WriteCSV prints one row per run (not per group, so scripts can aggregate
// their own way): run, group (its rank), seed, status, variant, the params
// that differ, the objective's final and best values, the other metrics,
// epochs, training seconds and parameter count. Missing values are empty.
func (c Comparison) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	head := []string{"run", "group", "seed", "status", "variant"}
	head = append(head, c.Differ...)
	head = append(head, c.Objective.Metric, "best_"+c.Objective.Metric)
	head = append(head, c.Metrics...)
	head = append(head, "epochs", "train_seconds", "param_count")
	if err := cw.Write(head); err != nil {
		return err
	}
	num := func(p *float64) string {
		if p == nil {
			return ""
		}
		return strconv.FormatFloat(*p, 'g', -1, 64)
	}
	for gi, g := range c.Groups {
		for _, r := range g.Runs {
			row := []string{strconv.FormatInt(r.ID, 10), strconv.Itoa(gi + 1),
				strconv.FormatUint(r.Seed, 10), r.Status, g.Variant}
			for _, p := range c.Differ {
				if v, ok := g.Params[p]; ok {
					row = append(row, FormatValue(v))
				} else {
					row = append(row, "")
				}
			}
			row = append(row, num(r.Final), num(r.Best))
			for _, m := range c.Metrics {
				if v, ok := r.Metrics[m]; ok {
					row = append(row, strconv.FormatFloat(v, 'g', -1, 64))
				} else {
					row = append(row, "")
				}
			}
			row = append(row, strconv.Itoa(r.Epochs), num(r.Seconds))
			if r.ParamCount != nil {
				row = append(row, strconv.FormatInt(*r.ParamCount, 10))
			} else {
				row = append(row, "")
			}
			if err := cw.Write(row); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
