package jail

import (
	"os"
	"path/filepath"
	"testing"
)

// The counters are read from the files of both cgroup versions: this
// machine has v1 (TestMemoryLimitIsEnforcedAndCounted uses the real one);
// GitHub's runners have v2, whose files are written here as the kernel
// writes them.
func TestReadBreachesOfBothVersions(t *testing.T) {
	write := func(dir, name, content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	v2 := t.TempDir()
	write(v2, "memory.events", "low 0\nhigh 0\nmax 12\noom 2\noom_kill 2\noom_group_kill 0\n")
	write(v2, "pids.events", "max 37\n")
	if got := ReadBreaches([]string{v2}); got != (Breaches{OOMKills: 2, ForksRefused: 37}) {
		t.Errorf("v2: %+v, want 2 OOM kills and 37 forks refused", got)
	}
	memory, pids := t.TempDir(), t.TempDir()
	write(memory, "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n")
	write(pids, "pids.events", "max 5\n")
	got := ReadBreaches([]string{memory, pids})
	if got != (Breaches{OOMKills: 1, ForksRefused: 5}) {
		t.Errorf("v1: %+v, want 1 OOM kill and 5 forks refused", got)
	}
	if d := got.Since(Breaches{ForksRefused: 5}).Describe(DefaultLimits); d != "your programs used more than 1 GiB of memory together, and the kernel stopped 1 process (out of memory)" {
		t.Errorf("Describe = %q", d)
	}
	if d := (Breaches{ForksRefused: 3}).Describe(DefaultLimits); d != "your programs tried to run more than 1024 processes and threads at once; the kernel refused 3 new processes or threads" {
		t.Errorf("Describe = %q", d)
	}
	if d := ReadBreaches([]string{t.TempDir()}).Describe(DefaultLimits); d != "" {
		t.Errorf("no counters: Describe = %q, want nothing", d)
	}
}
