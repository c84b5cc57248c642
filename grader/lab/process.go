package lab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/wirelab/wirelab/grader/jail"
)

// Output bounds: a student program may print anything; we keep the tail.
const (
	stdoutKeep = 256 << 10
	stderrKeep = 64 << 10
)

// Process is a student program started by a spec, in its own process group,
// killed if the grader dies, with bounded output capture.
type Process struct {
	Name   string // e.g. "server", used in messages
	cmd    *exec.Cmd
	stdout *TailBuffer
	stderr *TailBuffer
	stdin  io.WriteCloser // StartFed: the write end of the program's stdin
	done   chan struct{}
	state  *os.ProcessState
	err    error
	// asked is set when the grader sends a signal that ends a program
	// (SIGTERM, SIGINT, SIGKILL, or Stop) while it runs.
	asked atomic.Bool
	ns    *Netns // the namespace it runs in; nil: the sandbox's own
	// jail is the confinement it runs in (nil: none), and breaches the
	// limits its cgroup had enforced before it started.
	jail     *jail.Config
	breaches jail.Breaches
}

// inNamespace runs f where the program's sockets are: on the thread of its
// Netns, or right here in the sandbox's namespace.
func (p *Process) inNamespace(f func() error) error {
	if p.ns == nil {
		return f()
	}
	return p.ns.Do(f)
}

// Start runs the program at path with args. The program inherits the sandbox's
// network namespace, and runs confined by the active jail (package jail): as
// the sandbox child of a grading, always. Its environment is jail.Env, never
// the grader's. Its stdin is empty. It is not waited for; use AwaitListening
// or Exited.
func Start(path string, args ...string) (*Process, error) { return startProcess(false, path, args) }

// StartFed is Start with a pipe to the program's stdin: write its input with
// Input, and close it for the end of input.
func StartFed(path string, args ...string) (*Process, error) { return startProcess(true, path, args) }

func startProcess(fed bool, path string, args []string) (*Process, error) {
	p := &Process{
		Name:   filepath.Base(path),
		cmd:    exec.Command(path, args...),
		stdout: NewTailBuffer(stdoutKeep),
		stderr: NewTailBuffer(stderrKeep),
		done:   make(chan struct{}),
		jail:   jail.Active(),
	}
	p.cmd.Env = jail.Env()
	if p.jail != nil {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("could not start %s: %w", p.Name, err)
		}
		argv, env, err := jail.Wrap(p.jail, exe, p.cmd.Args)
		if err != nil {
			return nil, fmt.Errorf("could not start %s: %w", p.Name, err)
		}
		p.cmd = exec.Command(argv[0], argv[1:]...)
		p.cmd.Env = env
		p.breaches = jail.ReadBreaches(p.jail.Cgroups)
	}
	p.cmd.Stdout = p.stdout
	p.cmd.Stderr = p.stderr
	if fed {
		in, err := p.cmd.StdinPipe()
		if err != nil {
			return nil, fmt.Errorf("could not start %s: %w", p.Name, err)
		}
		p.stdin = in
	}
	p.cmd.SysProcAttr = &syscall.SysProcAttr{
		Setpgid:   true,            // signals go to the program and anything it started
		Pdeathsig: syscall.SIGKILL, // never outlive the sandbox child
	}
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("could not start %s: %w", p.Name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		p.state = p.cmd.ProcessState
		close(p.done)
	}()
	return p, nil
}

// Input is the write end of the program's stdin (StartFed; nil after Start).
// A write blocks while the program does not read; it fails once the program
// has exited.
func (p *Process) Input() io.WriteCloser { return p.stdin }

// Pid is the program's process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Exited is closed when the program has exited.
func (p *Process) Exited() <-chan struct{} { return p.done }

// HasExited reports whether the program has exited.
func (p *Process) HasExited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// ExitDescription says how the program ended, in words: "exited with status 2",
// "was killed by signal SIGKILL", or "is still running".
func (p *Process) ExitDescription() string {
	if !p.HasExited() {
		return "is still running"
	}
	if p.state == nil {
		return fmt.Sprintf("could not be waited for: %v", p.err)
	}
	how := fmt.Sprintf("exited with status %d", p.state.ExitCode())
	if ws, ok := p.state.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		how = fmt.Sprintf("was killed by signal %s", signalName(ws.Signal()))
	}
	if limit := p.LimitReached(); limit != "" {
		how += " (" + limit + ")"
	}
	return how
}

// LimitReached says, in the student's words, which of the grader's limits
// the program ran into ("" for none): CPU time or file size (the signal that
// ended it), memory or processes (counted by the case's cgroup since the
// program started, so they may be another program's of the same
// submission), or the disk the programs may write (full now).
func (p *Process) LimitReached() string {
	if p.jail == nil {
		return ""
	}
	l := p.jail.Limits
	var parts []string
	if p.HasExited() && p.state != nil {
		if ws, ok := p.state.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			switch {
			case ws.Signal() == syscall.SIGXCPU,
				ws.Signal() == syscall.SIGKILL && !p.asked.Load() && p.cpuSeconds() >= float64(l.CPUSeconds):
				parts = append(parts, fmt.Sprintf("it used more than %d s of CPU time", l.CPUSeconds))
			case ws.Signal() == syscall.SIGXFSZ:
				parts = append(parts, fmt.Sprintf("it wrote a file larger than %s", jail.Bytes(l.FileSize)))
			}
		}
	}
	if b := jail.ReadBreaches(p.jail.Cgroups).Since(p.breaches).Describe(l); b != "" {
		parts = append(parts, b)
	}
	if p.jail.Root != "" && jail.DiskFull(p.jail.Root) {
		parts = append(parts, fmt.Sprintf("your programs filled the %s they may write (/tmp and their home directory)", jail.Bytes(l.Disk)))
	}
	return strings.Join(parts, "; ")
}

// cpuSeconds is the CPU time the exited program used.
func (p *Process) cpuSeconds() float64 {
	if p.state == nil {
		return 0
	}
	return (p.state.UserTime() + p.state.SystemTime()).Seconds()
}

// ExitedUnasked reports whether the program has exited although the grader
// never asked it to (no SIGTERM, SIGINT or SIGKILL from Signal or Stop while it
// ran): it crashed or gave up on its own.
func (p *Process) ExitedUnasked() bool { return p.HasExited() && !p.asked.Load() }

// ExitCode is the exit status, or -1 if killed by a signal or still running.
func (p *Process) ExitCode() int {
	if !p.HasExited() || p.state == nil {
		return -1
	}
	return p.state.ExitCode()
}

// Signal sends sig to the program's process group.
func (p *Process) Signal(sig syscall.Signal) error {
	if p.HasExited() {
		return nil
	}
	switch sig {
	case syscall.SIGTERM, syscall.SIGINT, syscall.SIGKILL:
		p.asked.Store(true)
	}
	err := syscall.Kill(-p.Pid(), sig)
	if errors.Is(err, syscall.ESRCH) {
		return nil
	}
	return err
}

// Stop ends the program: SIGTERM, then SIGKILL after grace. It returns once the
// program has exited. Stopping an exited program does nothing.
func (p *Process) Stop(grace time.Duration) {
	if p.HasExited() {
		return
	}
	p.Signal(syscall.SIGCONT) // a stopped process cannot handle SIGTERM
	p.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		p.Signal(syscall.SIGKILL)
		<-p.done
	}
}

// AwaitExit waits for the program to exit, up to timeout. It reports whether it did.
func (p *Process) AwaitExit(ctx context.Context, timeout time.Duration) bool {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-p.done:
		return true
	case <-t.C:
	case <-ctx.Done():
	}
	// select picks at random among ready cases: an exited program has exited
	// even if the timeout or ctx ended at the same moment.
	return p.HasExited()
}

// Stdout is the kept tail of the program's standard output.
func (p *Process) Stdout() string { return p.stdout.String() }

// StderrTail is the last n lines of the program's standard error.
func (p *Process) StderrTail(n int) []string { return p.stderr.Lines(n) }

// LogEvidence renders the last n lines of stderr for a report, or says there
// were none. If the program panicked, the lines start at the panic message
// (the most useful line of a Go crash), up to 2n lines.
func (p *Process) LogEvidence(n int) string {
	lines := p.StderrTail(n)
	if all, at := p.panicAt(); at >= 0 {
		lines = all[at:min(len(all), at+2*n)]
	}
	if len(lines) == 0 {
		return fmt.Sprintf("%s wrote nothing to stderr", p.Name)
	}
	head := fmt.Sprintf("last %d line(s) of %s's stderr", len(lines), p.Name)
	if d := p.stderr.Dropped(); d > 0 {
		head += fmt.Sprintf(" (%d earlier bytes not kept)", d)
	}
	return head + ":\n" + strings.Join(lines, "\n")
}

// Panic returns the first line of a Go panic (or fatal runtime error) the
// program wrote to stderr, if it wrote one.
func (p *Process) Panic() (string, bool) {
	all, at := p.panicAt()
	if at < 0 {
		return "", false
	}
	return all[at], true
}

// panicAt returns the kept stderr lines and the index of the last panic line
// among them (-1: none).
func (p *Process) panicAt() ([]string, int) {
	all := p.StderrTail(1000)
	for i := len(all) - 1; i >= 0; i-- {
		if strings.HasPrefix(all[i], "panic: ") || strings.HasPrefix(all[i], "fatal error: ") {
			return all, i
		}
	}
	return all, -1
}

func signalName(s syscall.Signal) string {
	names := map[syscall.Signal]string{
		syscall.SIGKILL: "SIGKILL", syscall.SIGTERM: "SIGTERM", syscall.SIGINT: "SIGINT",
		syscall.SIGSEGV: "SIGSEGV", syscall.SIGABRT: "SIGABRT", syscall.SIGPIPE: "SIGPIPE",
		syscall.SIGBUS: "SIGBUS", syscall.SIGQUIT: "SIGQUIT",
	}
	if n, ok := names[s]; ok {
		return n
	}
	return s.String()
}
