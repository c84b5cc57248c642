// Command sockstat is the starting point of case study 03-time-wait, "TIME_WAIT
// misdiagnosed as a leak". Read assignments/03-time-wait/README.md first.
//
//	sockstat [-proc DIR] [-port N] [-samples N] [-interval DURATION]
//
// As given, it is the first look most people take: it reads DIR/net/tcp once,
// lists the sockets and counts them per state. That is how TIME_WAIT gets taken
// for a leak: a big TIME_WAIT number, with no idea whose sockets they are, which
// side closed them, or whether anything is still growing. It reads the IPv4 table
// correctly (table.go) and reports a damaged one with its file and line, but it
// knows nothing about IPv6, owners, the filter or the samples, and it diagnoses
// nothing: "processes", "unowned" and "findings" are always empty.
//
// The TODO(task N) comments point at the tasks of the brief. You may split the
// program into more files; keep it package main, standard library only (plus
// golang.org/x/sys/unix if you want it).
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// config holds the command-line flags.
type config struct {
	dir      string
	port     int
	samples  int
	interval time.Duration
}

const usage = "usage: sockstat [-proc DIR] [-port N] [-samples N] [-interval DURATION]"

// output is the JSON document of the contract.
type output struct {
	Sockets   []socketEntry  `json:"sockets"`
	States    map[string]int `json:"states"`
	Processes []any          `json:"processes"` // TODO(task 2): one entry per owning process
	Unowned   map[string]int `json:"unowned"`   // TODO(task 2)
	Findings  []any          `json:"findings"`  // TODO(tasks 4 and 5)
}

// socketEntry is one element of "sockets".
//
// TODO(task 2): "pid" and "command", the process that owns the socket. The
// inode is the link between the table and DIR/<pid>/fd.
type socketEntry struct {
	State  string `json:"state"`
	Local  string `json:"local"`
	Remote string `json:"remote"`
	Inode  uint64 `json:"inode"`
}

func main() {
	cfg, err := parseFlags(os.Args[1:])
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(os.Stderr, "sockstat: %v\n%s\n", err, usage)
		}
		os.Exit(2)
	}

	// TODO(task 5): this is one look. With -samples N, look N times, -interval
	// apart; the output describes the last look, the findings use all of them.
	// TODO(task 1): DIR/net/tcp6 too (both files must exist).
	socks, err := readTable(filepath.Join(cfg.dir, "net", "tcp"))
	if err != nil {
		// TODO(task 6): every input you add (tcp6, the port range, fd/, comm)
		// needs the same care: name the file, exit 1, nothing on stdout.
		fmt.Fprintln(os.Stderr, err) // FILE:LINE: what is wrong
		os.Exit(1)
	}

	// TODO(task 2): who owns each socket? Every numeric directory DIR/<pid> is a
	// process; its fd/ entries are links, "socket:[<inode>]" for a socket.
	// TODO(task 3): -port N keeps the sockets with N as local or remote port.
	out := output{
		Sockets:   []socketEntry{},
		States:    map[string]int{},
		Processes: []any{},
		Unowned:   map[string]int{},
		Findings:  []any{},
	}
	for _, s := range socks {
		out.Sockets = append(out.Sockets, socketEntry{
			State:  s.state,
			Local:  s.local.String(),
			Remote: s.remote.String(),
			Inode:  s.inode,
		})
		out.States[s.state]++
	}

	// TODO(task 4): a finding per group of TIME_WAIT sockets: which side closed
	// first (the brief's side rule needs the LISTEN ports and the ephemeral
	// range, DIR/sys/net/ipv4/ip_local_port_range), and why that is normal.
	// TODO(task 5): a finding per process with CLOSE_WAIT sockets: a leak, or
	// only a suspect?

	if err := writeJSON(os.Stdout, out); err != nil {
		fmt.Fprintf(os.Stderr, "sockstat: %v\n", err)
		os.Exit(1)
	}
}

// writeJSON writes v as one indented JSON document.
func writeJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// parseFlags parses and validates the command line. All four flags are checked,
// but this version only uses -proc.
func parseFlags(args []string) (config, error) {
	var cfg config
	fs := flag.NewFlagSet("sockstat", flag.ContinueOnError)
	fs.StringVar(&cfg.dir, "proc", "/proc", "read the tables and processes from `DIR`")
	fs.IntVar(&cfg.port, "port", 0, "keep only sockets with local or remote port `N` (0: every socket)")
	fs.IntVar(&cfg.samples, "samples", 1, "read the tables `N` times")
	fs.DurationVar(&cfg.interval, "interval", time.Second, "time between two samples")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	switch {
	case fs.NArg() > 0:
		return cfg, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case cfg.dir == "":
		return cfg, errors.New("-proc must not be empty")
	case cfg.port < 0 || cfg.port > 65535:
		return cfg, fmt.Errorf("-port must be between 0 and 65535, got %d", cfg.port)
	case cfg.samples < 1:
		return cfg, fmt.Errorf("-samples must be at least 1, got %d", cfg.samples)
	case cfg.interval <= 0:
		return cfg, fmt.Errorf("-interval must be a positive duration, got %v", cfg.interval)
	}
	return cfg, nil
}
