package lab

import (
	"context"
	"sync"
	"time"
)

// OpenLoop starts fn(i) for i in [0, n) at a steady rate per second, each in
// its own goroutine, whatever the earlier calls are doing (an open-loop load:
// arrivals do not wait for replies, as real clients don't). It returns when
// every call has returned. If ctx ends, no further calls start.
func OpenLoop(ctx context.Context, n int, rate float64, fn func(i int)) {
	var wg sync.WaitGroup
	start := time.Now()
	interval := time.Duration(float64(time.Second) / rate)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for i := 0; i < n; i++ {
		select {
		case <-ctx.Done():
		case <-timer.C:
		}
		// select picks at random when both are ready (a late timer, an ended
		// ctx): look at ctx again so that no call starts once it has ended.
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			fn(i)
		}(i)
		// Schedule against the start time so that a late tick does not slow the rate.
		timer.Reset(time.Until(start.Add(time.Duration(i+1) * interval)))
	}
	wg.Wait()
}

// All runs fn(i) for i in [0, n) at once, each in its own goroutine, and
// waits for all of them: an instantaneous burst.
func All(n int, fn func(i int)) {
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			fn(i)
		}(i)
	}
	wg.Wait()
}
