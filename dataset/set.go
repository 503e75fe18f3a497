// Package dataset holds the data aexp's variants train on: real MNIST read
// from the IDX files the GoMNIST module carries, user IDX and CSV files,
// synthetic multi-sine series, seeded train/validation splits, shuffled
// batching into a reused buffer, input corruption and sequence views.
//
// Data is held compactly: a [Set] keeps uint8 sources as uint8 and turns
// them into float32 in [0, 1] only when a batch is filled. Randomness is
// always explicit: every function that shuffles or corrupts takes a
// *rand.Rand (math/rand/v2) or a seed; nothing uses the global source.
package dataset

import (
	"fmt"
	"math/rand/v2"
)

// Set is a collection of examples of equal shape. Its data is either uint8
// (read as value/255) or float32 (read as is). A Set made by [Set.Subset] or
// [Split] is a view that shares the data of its parent.
type Set struct {
	shape  []int // per example, e.g. [28 28]
	dim    int   // product of shape
	u8     []uint8
	f32    []float32
	labels []int32 // nil when the set has no labels
	idx    []int32 // view: example i is the parent's example idx[i]; nil: identity
	n      int     // number of examples
}

// FromUint8 makes a set of len(data)/prod(shape) examples whose values are
// data/255. labels may be nil; otherwise it has one entry per example.
// Shape mismatches are programmer errors and panic.
func FromUint8(shape []int, data []uint8, labels []int32) *Set {
	s := newSet(shape, len(data), labels)
	s.u8 = data
	return s
}

// FromFloat32 makes a set of len(data)/prod(shape) examples read as is.
func FromFloat32(shape []int, data []float32, labels []int32) *Set {
	s := newSet(shape, len(data), labels)
	s.f32 = data
	return s
}

func newSet(shape []int, size int, labels []int32) *Set {
	dim := 1
	for _, d := range shape {
		if d <= 0 {
			panic(fmt.Sprintf("dataset: bad shape %v", shape))
		}
		dim *= d
	}
	if len(shape) == 0 || size%dim != 0 {
		panic(fmt.Sprintf("dataset: %d values do not make examples of shape %v", size, shape))
	}
	n := size / dim
	if labels != nil && len(labels) != n {
		panic(fmt.Sprintf("dataset: %d labels for %d examples", len(labels), n))
	}
	return &Set{shape: append([]int(nil), shape...), dim: dim, labels: labels, n: n}
}

// Len returns the number of examples.
func (s *Set) Len() int { return s.n }

// Dim returns the number of values of one example (the product of Shape).
func (s *Set) Dim() int { return s.dim }

// Shape returns the shape of one example, e.g. [28 28] for MNIST or
// [steps features] for a series. The caller must not modify it.
func (s *Set) Shape() []int { return s.shape }

// HasLabels reports whether the set carries labels.
func (s *Set) HasLabels() bool { return s.labels != nil }

// Label returns example i's label, or -1 when the set has none.
func (s *Set) Label(i int) int {
	if s.labels == nil {
		return -1
	}
	return int(s.labels[s.at(i)])
}

func (s *Set) at(i int) int {
	if i < 0 || i >= s.n {
		panic(fmt.Sprintf("dataset: example %d out of range [0, %d)", i, s.n))
	}
	if s.idx == nil {
		return i
	}
	return int(s.idx[i])
}

// u8Value[v] is float32(v) / 255, looked up instead of divided per value
// when batches are filled.
var u8Value = func() (t [256]float32) {
	for v := range t {
		t[v] = float32(v) / 255
	}
	return t
}()

// Example writes example i, as float32, into dst[:Dim()].
func (s *Set) Example(dst []float32, i int) {
	j := s.at(i) * s.dim
	dst = dst[:s.dim]
	if s.u8 != nil {
		for k, v := range s.u8[j : j+s.dim] {
			dst[k] = u8Value[v]
		}
		return
	}
	copy(dst, s.f32[j:j+s.dim])
}

// Gather writes the examples idx, one after the other, into dst, which must
// hold len(idx)*Dim() values.
func (s *Set) Gather(dst []float32, idx []int) {
	if len(dst) < len(idx)*s.dim {
		panic(fmt.Sprintf("dataset: Gather of %d examples into %d values", len(idx), len(dst)))
	}
	for r, i := range idx {
		s.Example(dst[r*s.dim:(r+1)*s.dim], i)
	}
}

// Range writes examples [from, from+n) into dst and returns dst[:n*Dim()].
// dst is grown when it is too small.
func (s *Set) Range(dst []float32, from, n int) []float32 {
	if cap(dst) < n*s.dim {
		dst = make([]float32, n*s.dim)
	}
	dst = dst[:n*s.dim]
	for r := range n {
		s.Example(dst[r*s.dim:(r+1)*s.dim], from+r)
	}
	return dst
}

// Subset returns a view of the examples idx (indices into s), in that order.
func (s *Set) Subset(idx []int) *Set {
	v := *s
	v.idx = make([]int32, len(idx))
	for k, i := range idx {
		v.idx[k] = int32(s.at(i))
	}
	v.n = len(idx)
	return &v
}

// Head returns a view of the first n examples (all of them when n <= 0 or
// n >= Len()).
func (s *Set) Head(n int) *Set {
	if n <= 0 || n >= s.n {
		return s
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	return s.Subset(idx)
}

// Split shuffles s with seed and returns a view of round(frac*Len())
// examples as the validation set and the rest, in their original order, as
// the training set. frac must be in [0, 1); with frac > 0 both parts keep at
// least one example. Split(s, frac, 0) is the split of [Contract.ValOrder].
func Split(s *Set, frac float64, seed uint64) (train, val *Set) {
	return SplitBy(s, frac, NewRand(seed, streamSplit).Perm(s.n))
}

// Random streams, so that one run seed gives independent generators for
// independent purposes.
const (
	streamSplit = 0x5eed_0001
)

// NewRand returns a PCG generator for seed and a stream; callers use
// distinct streams for unrelated purposes (initialisation, shuffling,
// noise) so that changing one does not shift the others.
func NewRand(seed, stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, stream))
}
