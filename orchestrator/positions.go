package orchestrator

import (
	"strconv"
	"strings"
)

// positions maps key paths of a TOML document to the line where each key is
// written. BurntSushi/toml keeps its key positions private, so semantic
// errors (unknown key, bad range) find their line here.
//
// Paths use the notation of the error messages: tables and keys joined with
// dots, elements of arrays (of tables, or inline) as [i], 0-based:
//
//	params.lr
//	variants[1].params.noise
//	include[0].hidden
//	budget.seeds[2]
//
// The scanner is forgiving: it only runs on text that BurntSushi/toml has
// already accepted, and on malformed text it records what it can.
type positions struct {
	lines map[string]int
	moved map[string]int // key paths replaced by a [set] override -> its line
}

// move records that path's value now comes from an override at line: errors
// about it (or anything inside it) point there. A path the file did not
// have takes that line for ordering too, so an added parameter comes last.
func (p *positions) move(path string, line int) {
	if p.moved == nil {
		p.moved = map[string]int{}
	}
	p.moved[path] = line
	if _, ok := p.lines[path]; !ok {
		p.lines[path] = line
	}
}

// where is the line an error about path points at: the override that set
// path or one of its parents, else the line where the file writes it.
func (p *positions) where(path string) int {
	if p == nil {
		return 0
	}
	for q := path; q != ""; q = parentPath(q) {
		if l, ok := p.moved[q]; ok {
			return l
		}
	}
	return p.line(path)
}

// line returns the line of path, or of its nearest recorded ancestor, or 0.
func (p *positions) line(path string) int {
	if p == nil {
		return 0
	}
	for path != "" {
		if l, ok := p.lines[path]; ok {
			return l
		}
		path = parentPath(path)
	}
	return 0
}

// parentPath drops the last segment of path: "a.b[2]" -> "a.b", "a.b" -> "a".
func parentPath(path string) string {
	if strings.HasSuffix(path, "]") {
		if i := strings.LastIndexByte(path, '['); i >= 0 {
			return path[:i]
		}
	}
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		return path[:i]
	}
	return ""
}

func joinPath(base, key string) string {
	if base == "" {
		return key
	}
	return base + "." + key
}

func indexPath(base string, i int) string { return base + "[" + strconv.Itoa(i) + "]" }

// scanPositions records the line of every key, table header and array
// element in a TOML text.
func scanPositions(text string) *positions {
	s := &scanner{src: text, line: 1, p: &positions{lines: map[string]int{}}, aot: map[string]int{}}
	s.document()
	return s.p
}

type scanner struct {
	src  string
	i    int
	line int
	p    *positions
	aot  map[string]int // array-of-tables path -> number of elements seen
}

func (s *scanner) record(path string, line int) {
	if _, ok := s.p.lines[path]; !ok {
		s.p.lines[path] = line
	}
}

func (s *scanner) eof() bool { return s.i >= len(s.src) }

func (s *scanner) peek() byte {
	if s.eof() {
		return 0
	}
	return s.src[s.i]
}

func (s *scanner) advance() {
	if s.src[s.i] == '\n' {
		s.line++
	}
	s.i++
}

// skipSpace skips blanks and comments; with newlines it also skips line ends.
func (s *scanner) skipSpace(newlines bool) {
	for !s.eof() {
		c := s.peek()
		switch {
		case c == ' ' || c == '\t' || c == '\r':
			s.advance()
		case c == '\n' && newlines:
			s.advance()
		case c == '#':
			for !s.eof() && s.peek() != '\n' {
				s.advance()
			}
		default:
			return
		}
	}
}

func (s *scanner) skipLine() {
	for !s.eof() && s.peek() != '\n' {
		s.advance()
	}
}

func (s *scanner) document() {
	table := ""
	for {
		s.skipSpace(true)
		if s.eof() {
			return
		}
		start := s.i
		switch s.peek() {
		case '[':
			line := s.line
			s.advance()
			array := s.peek() == '['
			if array {
				s.advance()
			}
			keys := s.keyParts()
			s.skipSpace(false)
			if s.peek() == ']' {
				s.advance()
			}
			if array && s.peek() == ']' {
				s.advance()
			}
			table = s.tablePath(keys, array, line)
		default:
			s.keyValue(table)
		}
		if s.i == start { // no progress: malformed text; skip the line
			s.skipLine()
			if !s.eof() {
				s.advance()
			}
		}
	}
}

// tablePath resolves a table header's keys to a path, counting array-of-tables
// elements (a header [[a.b]] inside the 2nd [[a]] is a[1].b[k]).
func (s *scanner) tablePath(keys []string, array bool, line int) string {
	path := ""
	for i, k := range keys {
		path = joinPath(path, k)
		if i < len(keys)-1 {
			// an enclosing array of tables resolves to its latest element
			if n, ok := s.aot[path]; ok {
				path = indexPath(path, n-1)
			}
			continue
		}
	}
	if array {
		s.record(path, line)
		n := s.aot[path]
		s.aot[path] = n + 1
		path = indexPath(path, n)
	}
	s.record(path, line)
	return path
}

// keyValue scans key = value in table.
func (s *scanner) keyValue(table string) {
	line := s.line
	keys := s.keyParts()
	if len(keys) == 0 {
		return
	}
	path := table
	for _, k := range keys {
		path = joinPath(path, k)
		s.record(path, line)
	}
	s.skipSpace(false)
	if s.peek() != '=' {
		return
	}
	s.advance()
	s.skipSpace(false)
	s.value(path)
}

// keyParts reads a dotted key: bare or quoted parts separated by dots.
func (s *scanner) keyParts() []string {
	var parts []string
	for {
		s.skipSpace(false)
		if s.eof() {
			return parts
		}
		c := s.peek()
		switch {
		case c == '"' || c == '\'':
			parts = append(parts, s.quoted(c))
		case isBare(c):
			st := s.i
			for !s.eof() && isBare(s.peek()) {
				s.advance()
			}
			parts = append(parts, s.src[st:s.i])
		default:
			return parts
		}
		s.skipSpace(false)
		if s.peek() != '.' {
			return parts
		}
		s.advance()
	}
}

func isBare(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// quoted reads a single-line quoted key and returns its (roughly unescaped) text.
func (s *scanner) quoted(q byte) string {
	s.advance()
	var b strings.Builder
	for !s.eof() && s.peek() != q && s.peek() != '\n' {
		c := s.peek()
		if c == '\\' && q == '"' {
			s.advance()
			if s.eof() {
				break
			}
		}
		b.WriteByte(s.peek())
		s.advance()
	}
	if s.peek() == q {
		s.advance()
	}
	return b.String()
}

// value scans one value, recording keys of inline tables and array elements.
func (s *scanner) value(path string) {
	if s.eof() {
		return
	}
	switch c := s.peek(); c {
	case '"', '\'':
		s.stringValue(c)
	case '[':
		s.advance()
		for n := 0; ; n++ {
			s.skipSpace(true)
			if s.eof() {
				return
			}
			if s.peek() == ']' {
				s.advance()
				return
			}
			el := indexPath(path, n)
			s.record(el, s.line)
			before := s.i
			s.value(el)
			s.skipSpace(true)
			if s.peek() == ',' {
				s.advance()
			} else if s.i == before {
				s.advance() // malformed; make progress
			}
		}
	case '{':
		s.advance()
		for {
			s.skipSpace(true)
			if s.eof() {
				return
			}
			if s.peek() == '}' {
				s.advance()
				return
			}
			before := s.i
			s.keyValue(path)
			s.skipSpace(true)
			if s.peek() == ',' {
				s.advance()
			} else if s.i == before {
				s.advance()
			}
		}
	default:
		// number, bool, date: up to a delimiter
		for !s.eof() {
			c := s.peek()
			if c == ',' || c == ']' || c == '}' || c == '\n' || c == '#' {
				return
			}
			if c == ' ' || c == '\t' {
				// dates may contain one space ("1979-05-27 07:32:00"); a
				// following delimiter ends the value either way.
				s.advance()
				continue
			}
			s.advance()
		}
	}
}

func (s *scanner) stringValue(q byte) {
	if strings.HasPrefix(s.src[s.i:], strings.Repeat(string(q), 3)) {
		s.advance()
		s.advance()
		s.advance()
		end := strings.Repeat(string(q), 3)
		for !s.eof() {
			if s.peek() == '\\' && q == '"' {
				s.advance()
				if !s.eof() {
					s.advance()
				}
				continue
			}
			if strings.HasPrefix(s.src[s.i:], end) {
				s.advance()
				s.advance()
				s.advance()
				// up to two more quotes may belong to the string
				for k := 0; k < 2 && s.peek() == q; k++ {
					s.advance()
				}
				return
			}
			s.advance()
		}
		return
	}
	s.advance()
	for !s.eof() && s.peek() != '\n' {
		c := s.peek()
		if c == '\\' && q == '"' {
			s.advance()
			if !s.eof() && s.peek() != '\n' {
				s.advance()
			}
			continue
		}
		s.advance()
		if c == q {
			return
		}
	}
}
