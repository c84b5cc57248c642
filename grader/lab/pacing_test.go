package lab

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// calls records which indices fn was called with, and when.
type calls struct {
	mu    sync.Mutex
	order []int
	at    map[int]time.Duration
	start time.Time
}

func newCalls() *calls { return &calls{at: map[int]time.Duration{}, start: time.Now()} }

func (c *calls) record(i int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.order = append(c.order, i)
	c.at[i] = time.Since(c.start)
}

func (c *calls) sorted() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := slices.Clone(c.order)
	slices.Sort(s)
	return s
}

func indices(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

// Real time: every call happens once, arrivals do not wait for earlier calls,
// and they are not faster than the rate.
func TestOpenLoopCallsEachIndexOnceAtTheRate(t *testing.T) {
	const n, rate = 20, 200.0 // one every 5ms
	c := newCalls()
	third := make(chan struct{})
	begin := time.Now()
	OpenLoop(context.Background(), n, rate, func(i int) {
		c.record(i)
		switch i {
		case 2:
			close(third)
		case 0:
			// The first call lasts until the third has started: an open
			// loop does not wait for it.
			select {
			case <-third:
			case <-time.After(10 * time.Second):
				t.Error("call 2 never started while call 0 was running")
			}
		}
	})
	elapsed := time.Since(begin)
	if got := c.sorted(); !slices.Equal(got, indices(n)) {
		t.Errorf("called with %v, want each of 0..%d once", got, n-1)
	}
	if least := time.Duration(float64(n-1)/rate*float64(time.Second)) - 2*time.Millisecond; elapsed < least {
		t.Errorf("%d calls at %v/s took %v, less than %v", n, rate, elapsed, least)
	}
}

// Fake time (a synctest bubble): the schedule is exact, and a late start does
// not slow the rate down.
func TestOpenLoopSchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newCalls()
		OpenLoop(context.Background(), 5, 10, c.record) // one every 100ms
		want := map[int]time.Duration{0: 0, 1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 3: 300 * time.Millisecond, 4: 400 * time.Millisecond}
		for i, at := range want {
			if c.at[i] != at {
				t.Errorf("call %d started at %v, want %v", i, c.at[i], at)
			}
		}
		if !slices.Equal(c.order, indices(5)) {
			t.Errorf("calls started in the order %v", c.order)
		}
	})
}

func TestOpenLoopStopsStartingWhenCtxEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		c := newCalls()
		slowDone := make(chan struct{})
		go func() {
			time.Sleep(250 * time.Millisecond)
			cancel()
		}()
		begin := time.Now()
		OpenLoop(ctx, 100, 10, func(i int) {
			c.record(i)
			if i == 0 {
				<-ctx.Done() // OpenLoop still waits for calls already started
				time.Sleep(50 * time.Millisecond)
				close(slowDone)
			}
		})
		if got := c.sorted(); !slices.Equal(got, indices(3)) {
			t.Errorf("cancelled at 250ms with one call per 100ms: called %v, want 0 1 2", got)
		}
		select {
		case <-slowDone:
		default:
			t.Error("OpenLoop returned before a call it had started")
		}
		if elapsed := time.Since(begin); elapsed != 300*time.Millisecond {
			t.Errorf("returned after %v, want 300ms (the slow call's end)", elapsed)
		}
	})
}

func TestOpenLoopCancelledBeforehand(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	// Whatever the timer does, nothing starts once ctx has ended.
	for range 100 {
		var started atomic.Int32
		OpenLoop(ctx, 10, 1e6, func(int) { started.Add(1) })
		if started := started.Load(); started != 0 {
			t.Fatalf("%d calls started with a context that had already ended", started)
		}
	}
}

func TestAllRunsAtOnce(t *testing.T) {
	const n = 16
	c := newCalls()
	var arrived sync.WaitGroup
	arrived.Add(n)
	release := make(chan struct{})
	go func() { arrived.Wait(); close(release) }()
	// Every call blocks until all have started: this only returns if they
	// run concurrently.
	All(n, func(i int) {
		c.record(i)
		arrived.Done()
		<-release
	})
	if got := c.sorted(); !slices.Equal(got, indices(n)) {
		t.Errorf("called with %v, want each of 0..%d once", got, n-1)
	}
	All(0, func(int) { t.Error("called with n=0") })
}
