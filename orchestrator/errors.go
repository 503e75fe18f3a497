package orchestrator

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// SpecError is one problem in a sweep spec, located by file, line and key:
//
//	sweeps/x.toml:12: params.lr: min must be below max (got min 0.1, max 0.01)
type SpecError struct {
	File string
	Line int    // 1-based; 0 when unknown
	Key  string // key path such as "params.lr" or "variants[1].params.noise"; may be empty
	Msg  string
}

func (e *SpecError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Key != "" {
		b.WriteString(e.Key)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// SpecErrors is every problem found in a spec, in line order. A spec is
// checked as a whole so that one run of `aexp plan` shows all of them.
type SpecErrors []*SpecError

func (es SpecErrors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// IsSpecError reports whether err is a problem with the spec (exit status 2)
// rather than with the machine (missing plugin binary, I/O).
func IsSpecError(err error) bool {
	var one *SpecError
	var many SpecErrors
	return errors.As(err, &one) || errors.As(err, &many)
}

// errorList collects errors while a spec is checked.
type errorList struct {
	file   string
	pos    *positions
	labels map[int]string // line -> the --set flag written there (see WithSets)
	errs   SpecErrors
	seen   map[string]bool
}

// add records an error at key path; its line comes from the position map.
func (l *errorList) add(path, format string, args ...any) {
	l.addAt(l.pos.where(path), path, fmt.Sprintf(format, args...))
}

// addAt records an error at a line; a line that holds a --set override is
// named by its flag instead ("--set lr=abc: params.lr: ...").
func (l *errorList) addAt(line int, path, msg string) {
	e := &SpecError{File: l.file, Line: line, Key: path, Msg: msg}
	if flag, ok := l.labels[line]; ok {
		e.File, e.Line = flag, 0
	}
	s := e.Error()
	if l.seen == nil {
		l.seen = map[string]bool{}
	}
	if l.seen[s] {
		return
	}
	l.seen[s] = true
	l.errs = append(l.errs, e)
}

// merge adds the problems of err, a spec error, and reports whether it was one.
func (l *errorList) merge(err error) bool {
	var many SpecErrors
	var one *SpecError
	switch {
	case errors.As(err, &many):
	case errors.As(err, &one):
		many = SpecErrors{one}
	default:
		return false
	}
	for _, e := range many {
		if l.seen == nil {
			l.seen = map[string]bool{}
		}
		if s := e.Error(); !l.seen[s] {
			l.seen[s] = true
			l.errs = append(l.errs, e)
		}
	}
	return true
}

func (l *errorList) err() error {
	if len(l.errs) == 0 {
		return nil
	}
	sort.SliceStable(l.errs, func(i, j int) bool { return l.errs[i].Line < l.errs[j].Line })
	return l.errs
}
