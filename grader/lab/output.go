package lab

import (
	"strings"
	"sync"
)

// TailBuffer keeps the last max bytes written to it and counts the rest, so a
// program that floods its output costs bounded memory and still leaves its
// final lines as evidence.
type TailBuffer struct {
	mu      sync.Mutex
	max     int
	buf     []byte
	dropped int64
}

func NewTailBuffer(max int) *TailBuffer { return &TailBuffer{max: max} }

func (b *TailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := len(p)
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - b.max; over > 0 {
		b.dropped += int64(over)
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return n, nil
}

// String is everything kept. Once bytes were dropped, the first kept line is
// left out too (it is likely cut in the middle); Dropped says how much is gone.
func (b *TailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := string(b.buf)
	if b.dropped > 0 {
		// The first kept line is likely cut in the middle: drop it.
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			s = s[i+1:]
		}
	}
	return s
}

// Lines is the last n complete or partial lines kept.
func (b *TailBuffer) Lines(n int) []string {
	s := strings.TrimRight(b.String(), "\n")
	if s == "" {
		return nil
	}
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return lines
}

// Dropped is how many bytes did not fit.
func (b *TailBuffer) Dropped() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.dropped
}
