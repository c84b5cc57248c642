package serverarch

import (
	"strings"
	"testing"
	"time"

	"github.com/wirelab/wirelab/grader/lab"
)

func TestWorkAnswerChainsDigests(t *testing.T) {
	// Computed apart, with Python's hashlib.
	for _, c := range []struct {
		w    work
		want string
	}{
		{work{1, "abc"}, "DONE ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
		{work{3, "abc"}, "DONE f2a778f1a6ed3d5bc59a5d79104c598f3f07093f240ca4e91333fb09ed4f36da"},
	} {
		if got := c.w.answer(); got != c.want {
			t.Errorf("%s: %s, want %s", c.w.request(), got, c.want)
		}
	}
}

func TestRuntimeEntryIsTheNetpollersRegistration(t *testing.T) {
	if !runtimeEntry(lab.EpollEntry{FD: 3, Events: 0x8000201d, Data: 0x7f3a2c000b60}) {
		t.Error("the runtime's registration not recognised")
	}
	for _, e := range []lab.EpollEntry{
		{FD: 3, Events: 0x19, Data: 3},              // level-triggered EPOLLIN, the fd as data
		{FD: 3, Events: 0x80000019, Data: 3},        // edge-triggered EPOLLIN
		{FD: 3, Events: 0x8000201d, Data: 3},        // all of the runtime's events, the fd as data
		{FD: 3, Events: 0x19, Data: 0x7f3a2c000b60}, // a pointer, level-triggered
	} {
		if runtimeEntry(e) {
			t.Errorf("%+v taken for the runtime's", e)
		}
	}
}

func TestComparisonTablesHaveTheArtifactsColumns(t *testing.T) {
	m := func(model string) measurement {
		return measurement{model: model, clients: 1000, stats: lab.TreeStats{Processes: 1, Threads: 7, RSS: 9 << 20},
			cpu: 10 * time.Millisecond, pings: lab.Latencies{time.Millisecond, 2 * time.Millisecond}, workRate: 150}
	}
	out := comparisonTables([]measurement{m(process), m(thread), m(epoll)}, []measurement{m(epoll)})
	for _, want := range []string{
		"## 1,000 idle clients", "## 100 CPU-heavy clients",
		"| Architecture | Clients | Threads | Processes | RSS (MiB) | CPU seconds | PING p50 (ms) | PING p99 (ms) |\n",
		"| Architecture | Clients | Threads | Processes | RSS (MiB) | CPU seconds | PING p50 (ms) | PING p99 (ms) | WORK per second |\n",
		"| epoll event loop + workers | 1000 | 7 | 1 | 9.0 | 0.01 | 1.0 | 2.0 | 150 |",
		"| process per connection | 1000 | 7 | 1 | 9.0 | 0.01 | 1.0 | 2.0 |\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the tables lack %q:\n%s", want, out)
		}
	}
}
