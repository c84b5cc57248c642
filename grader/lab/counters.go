package lab

import (
	"bufio"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
)

// Counters are the kernel's network counters of the current network namespace,
// keyed "Group.Name" (e.g. "TcpExt.ListenOverflows", "Tcp.RetransSegs").
//
// They are parsed from /proc/thread-self/net/{netstat,snmp} by hand rather than
// with prometheus/procfs: procfs exposes a fixed subset as *float64 fields,
// while evidence wants every counter by name, as an exact integer delta.
type Counters map[string]int64

// ReadCounters reads the namespace's counters now.
func ReadCounters() (Counters, error) {
	c := Counters{}
	for _, f := range []string{"/proc/thread-self/net/netstat", "/proc/thread-self/net/snmp"} {
		if err := c.parseFile(f); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// parseFile reads the two-line "Group: names" / "Group: values" format.
func (c Counters) parseFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("lab: counters: %w", err)
	}
	defer f.Close()
	return c.parse(path, bufio.NewScanner(f))
}

func (c Counters) parse(path string, sc *bufio.Scanner) error {
	line := 0
	for sc.Scan() {
		line++
		names := strings.Fields(sc.Text())
		if !sc.Scan() {
			return fmt.Errorf("%s:%d: header line without a value line", path, line)
		}
		line++
		values := strings.Fields(sc.Text())
		if len(names) == 0 || len(names) != len(values) || names[0] != values[0] {
			return fmt.Errorf("%s:%d: value line does not match its header", path, line)
		}
		group := strings.TrimSuffix(names[0], ":")
		for i := 1; i < len(names); i++ {
			v, err := strconv.ParseInt(values[i], 10, 64)
			if err != nil {
				return fmt.Errorf("%s:%d: %s: %w", path, line, names[i], err)
			}
			c[group+"."+names[i]] = v
		}
	}
	return sc.Err()
}

// Since returns the change of every counter from before to c.
func (c Counters) Since(before Counters) Counters {
	d := Counters{}
	for k, v := range c {
		d[k] = v - before[k]
	}
	return d
}

// Format renders the named counters as "TcpExt.ListenOverflows +0, ...".
// With no names it renders every counter that changed.
func (c Counters) Format(names ...string) string {
	if len(names) == 0 {
		for k, v := range c {
			if v != 0 {
				names = append(names, k)
			}
		}
		sort.Strings(names)
		if len(names) == 0 {
			return "no counter changed"
		}
	}
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = fmt.Sprintf("%s %+d", n, c[n])
	}
	return strings.Join(parts, ", ")
}
