package lab

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
)

func TestTailBufferUnderLimit(t *testing.T) {
	b := NewTailBuffer(64)
	for _, s := range []string{"one\n", "two\n", "thr", "ee"} {
		if n, err := b.Write([]byte(s)); n != len(s) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", s, n, err)
		}
	}
	if got := b.String(); got != "one\ntwo\nthree" {
		t.Errorf("String = %q", got)
	}
	if b.Dropped() != 0 {
		t.Errorf("Dropped = %d, want 0", b.Dropped())
	}
	if got := b.Lines(2); !slices.Equal(got, []string{"two", "three"}) {
		t.Errorf("Lines(2) = %q", got)
	}
	if got := b.Lines(10); !slices.Equal(got, []string{"one", "two", "three"}) {
		t.Errorf("Lines(10) = %q", got)
	}
	if got := NewTailBuffer(8).Lines(3); got != nil {
		t.Errorf("Lines of an empty buffer = %q, want nil", got)
	}
}

func TestTailBufferKeepsTheTail(t *testing.T) {
	b := NewTailBuffer(20)
	// 5 lines of 7 bytes: 35 bytes, 15 dropped. The kept 20 bytes are
	// "ine 2\nline 3\nline 4\n": the cut first line is not shown.
	for i := range 5 {
		fmt.Fprintf(b, "line %d\n", i)
	}
	if got := b.Dropped(); got != 15 {
		t.Errorf("Dropped = %d, want 15", got)
	}
	if got := b.String(); got != "line 3\nline 4\n" {
		t.Errorf("String = %q, want the complete lines of the tail", got)
	}
	if got := b.Lines(1); !slices.Equal(got, []string{"line 4"}) {
		t.Errorf("Lines(1) = %q", got)
	}

	// One write bigger than the buffer keeps its own tail.
	b = NewTailBuffer(10)
	b.Write([]byte(strings.Repeat("x", 100) + "\nlast\n"))
	if got := b.String(); got != "last\n" || b.Dropped() != 96 {
		t.Errorf("after a 106-byte write into 10: %q, dropped %d", got, b.Dropped())
	}

	// A tail with no line break at all is still shown.
	b = NewTailBuffer(4)
	b.Write([]byte("abcdefgh"))
	if got := b.String(); got != "efgh" {
		t.Errorf("String = %q, want %q", got, "efgh")
	}
}

func TestTailBufferConcurrentWrites(t *testing.T) {
	b := NewTailBuffer(1 << 10)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 1000 {
				fmt.Fprintf(b, "writer %d line %04d\n", w, i)
				_ = b.Lines(2)
			}
		}()
	}
	wg.Wait()
	total := int64(4 * 1000 * len("writer 0 line 0000\n"))
	if kept := int64(len(b.buf)); kept+b.Dropped() != total || kept != 1<<10 {
		t.Errorf("kept %d + dropped %d, want %d kept of %d", kept, b.Dropped(), 1<<10, total)
	}
	for _, l := range b.Lines(50) {
		if !strings.HasPrefix(l, "writer ") || len(l) != len("writer 0 line 0000") {
			t.Errorf("a kept line was mangled: %q", l)
		}
	}
}
