package dataset

import (
	"fmt"
	"math/rand/v2"
)

// Batches walks a set in batches, filling one reused float32 buffer. With a
// generator it visits the examples in a new random order every epoch; the
// last batch of an epoch is smaller when the batch size does not divide the
// set (as PyTorch's DataLoader with drop_last=False).
//
//	b := dataset.NewBatches(train, 128, rng)
//	for epoch := range epochs {
//		b.Shuffle()
//		for x, n := range b.All() { ... x holds n*Dim() values ... }
//	}
type Batches struct {
	set   *Set
	size  int
	rng   *rand.Rand
	order []int
	pos   int
	last  int // size of the batch last returned by Next
	buf   []float32
}

// NewBatches returns batches of size examples of s. rng may be nil for a
// fixed order (evaluation).
func NewBatches(s *Set, size int, rng *rand.Rand) *Batches {
	if size <= 0 {
		panic(fmt.Sprintf("dataset: batch size %d", size))
	}
	order := make([]int, s.Len())
	for i := range order {
		order[i] = i
	}
	return &Batches{set: s, size: size, rng: rng, order: order, buf: make([]float32, min(size, max(s.Len(), 1))*s.Dim())}
}

// Shuffle starts a new epoch: it draws a new order (when the batches have a
// generator) and rewinds.
func (b *Batches) Shuffle() {
	if b.rng != nil {
		b.rng.Shuffle(len(b.order), func(i, j int) { b.order[i], b.order[j] = b.order[j], b.order[i] })
	}
	b.pos, b.last = 0, 0
}

// Rewind restarts the epoch in the current order.
func (b *Batches) Rewind() { b.pos, b.last = 0, 0 }

// Len returns the number of batches in an epoch.
func (b *Batches) Len() int { return (len(b.order) + b.size - 1) / b.size }

// Next fills the buffer with the next batch and returns it with the number
// of examples in it; ok is false at the end of the epoch. The returned
// slice is valid until the next call.
func (b *Batches) Next() (x []float32, n int, ok bool) {
	if b.pos >= len(b.order) {
		return nil, 0, false
	}
	n = min(b.size, len(b.order)-b.pos)
	x = b.buf[:n*b.set.Dim()]
	b.set.Gather(x, b.order[b.pos:b.pos+n])
	b.pos += n
	b.last = n
	return x, n, true
}

// Indices returns the set indices of the batch last returned by Next.
func (b *Batches) Indices() []int {
	return b.order[b.pos-b.last : b.pos]
}

// All iterates over the rest of the epoch: for x, n := range b.All().
func (b *Batches) All() func(yield func([]float32, int) bool) {
	return func(yield func([]float32, int) bool) {
		for {
			x, n, ok := b.Next()
			if !ok || !yield(x, n) {
				return
			}
		}
	}
}
