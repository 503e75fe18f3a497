package dataset

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
)

// ReadCSV reads equal-length series, one per line, values separated by
// commas: a set of series of shape [len, 1]. A first line that is not all
// numbers is a header and skipped; blank lines are skipped. Errors name the
// line and the column.
func ReadCSV(r io.Reader) (*Set, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1 // checked here, for a clearer message
	cr.ReuseRecord = true
	cr.TrimLeadingSpace = true
	var data []float32
	width := 0
	rows := 0
	for first := true; ; first = false {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("csv: %w", err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		vals := make([]float32, len(rec))
		var bad error
		for i, f := range rec {
			v, err := strconv.ParseFloat(strings.TrimSpace(f), 32)
			if err != nil {
				bad = fmt.Errorf("csv: line %d, column %d: %q is not a number", line, i+1, f)
				break
			}
			if math.IsNaN(v) || math.IsInf(v, 0) {
				bad = fmt.Errorf("csv: line %d, column %d: %q is not a finite number", line, i+1, f)
				break
			}
			vals[i] = float32(v)
		}
		if bad != nil {
			if first {
				continue // header
			}
			return nil, bad
		}
		if width == 0 {
			width = len(vals)
		} else if len(vals) != width {
			return nil, fmt.Errorf("csv: line %d has %d values; the series before it have %d (all series must have the same length)", line, len(vals), width)
		}
		data = append(data, vals...)
		rows++
	}
	if rows == 0 {
		return nil, errors.New("csv: no series (expected one line of comma-separated numbers per series)")
	}
	return FromFloat32([]int{width, 1}, data, nil), nil
}

// ReadCSVFile reads a CSV file of series; see [ReadCSV].
func ReadCSVFile(path string) (*Set, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	s, err := ReadCSV(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}
