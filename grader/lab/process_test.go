package lab

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"
)

func addr(port uint16) string { return fmt.Sprintf("127.0.0.1:%d", port) }

func TestProcessListensAndStopsGracefully(t *testing.T) {
	needNetns(t)
	port := freePort(t)
	p := start(t, "listener", addr(port))
	if p.Name != "listener" {
		t.Errorf("Name = %q, want the program's base name", p.Name)
	}
	if err := p.AwaitListening(context.Background(), port, Scaled(10*time.Second)); err != nil {
		t.Fatal(err)
	}
	if p.HasExited() || p.ExitDescription() != "is still running" || p.ExitCode() != -1 {
		t.Errorf("a listening program: HasExited %v, %q, code %d", p.HasExited(), p.ExitDescription(), p.ExitCode())
	}

	// Its own process group, so that signals reach everything it started.
	if pgid, err := syscall.Getpgid(p.Pid()); err != nil || pgid != p.Pid() {
		t.Errorf("pgid of %d = %d, %v; want its own group", p.Pid(), pgid, err)
	}

	st, err := p.Stats()
	if err != nil {
		t.Fatal(err)
	}
	// stdin, stdout, stderr, the listener, the netpoller's epoll and eventfd.
	if st.Threads < 1 || st.RSS <= 0 || st.OpenFDs < 4 {
		t.Errorf("Stats = %+v (%v), want threads ≥ 1, RSS > 0, fds ≥ 4", st, st)
	}
	if s := st.String(); !strings.Contains(s, "threads, RSS ") || !strings.HasSuffix(s, "open fds") {
		t.Errorf("Stats.String = %q", s)
	}

	p.Stop(Scaled(5 * time.Second))
	if !p.HasExited() {
		t.Fatal("Stop returned before the program exited")
	}
	if got := p.ExitDescription(); got != "exited with status 0" {
		t.Errorf("after SIGTERM the program %s, want it to exit 0 from its handler", got)
	}
	if p.ExitCode() != 0 || p.Stdout() != "bye\n" {
		t.Errorf("exit code %d, stdout %q; want 0 and %q", p.ExitCode(), p.Stdout(), "bye\n")
	}
	if got, want := p.LogEvidence(5), "listener wrote nothing to stderr"; got != want {
		t.Errorf("LogEvidence = %q, want %q", got, want)
	}
	if _, err := StatsOf(p.Pid()); err == nil {
		t.Error("StatsOf an exited, reaped process succeeded")
	}
	p.Stop(time.Second) // stopping an exited program does nothing
	if err := p.Signal(syscall.SIGTERM); err != nil {
		t.Errorf("Signal to an exited program: %v", err)
	}
}

func TestProcessExitsBeforeListening(t *testing.T) {
	needNetns(t)
	port := freePort(t)
	p := start(t, "crasher")
	err := p.AwaitListening(context.Background(), port, Scaled(10*time.Second))
	var nl *NotListeningError
	if !errors.As(err, &nl) {
		t.Fatalf("AwaitListening = %v, want a *NotListeningError", err)
	}
	if nl.Program != "crasher" || nl.Port != port || nl.StillRunning {
		t.Errorf("error names %q port %d (still running %v), want crasher port %d, exited", nl.Program, nl.Port, nl.StillRunning, port)
	}
	msg := err.Error()
	for _, want := range []string{
		fmt.Sprintf("crasher did not start listening on port %d", port),
		"exited with status 2 before it listened",
		"last 2 line(s) of crasher's stderr:\nstarting up\nboom",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not say %q", msg, want)
		}
	}
	if p.ExitCode() != 2 {
		t.Errorf("ExitCode = %d, want 2", p.ExitCode())
	}
	// An exited program has exited, however little time AwaitExit is given.
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	for range 50 {
		if !p.AwaitExit(context.Background(), 0) || !p.AwaitExit(cancelled, time.Minute) {
			t.Fatal("AwaitExit reported an exited program as still running")
		}
	}
	if got := p.StderrTail(1); len(got) != 1 || got[0] != "boom" {
		t.Errorf("StderrTail(1) = %q", got)
	}
}

func TestProcessNeverListens(t *testing.T) {
	needNetns(t)
	port := freePort(t)
	p := start(t, "silent")
	timeout := 300 * time.Millisecond
	begin := time.Now()
	err := p.AwaitListening(context.Background(), port, timeout)
	elapsed := time.Since(begin)
	var nl *NotListeningError
	if !errors.As(err, &nl) {
		t.Fatalf("AwaitListening = %v, want a *NotListeningError", err)
	}
	if elapsed < timeout {
		t.Errorf("gave up after %v, before the %v timeout", elapsed, timeout)
	}
	if !nl.StillRunning || nl.Program != "silent" || nl.Port != port {
		t.Errorf("NotListeningError %+v, want silent on port %d, still running", nl, port)
	}
	for _, want := range []string{
		fmt.Sprintf("no LISTEN socket on port %d appeared within 300ms", port),
		"it is still running",
		"silent wrote nothing to stderr",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if p.HasExited() {
		t.Errorf("the program %s", p.ExitDescription())
	}
	if p.AwaitExit(context.Background(), 10*time.Millisecond) {
		t.Error("AwaitExit reported a running program as exited")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if p.AwaitExit(ctx, time.Minute) {
		t.Error("AwaitExit with a cancelled context reported a running program as exited")
	}
	if err := p.AwaitListening(ctx, port, time.Minute); err != context.Canceled {
		t.Errorf("AwaitListening with a cancelled context = %v, want context.Canceled", err)
	}
}

func TestProcessOutputStaysBounded(t *testing.T) {
	needNetns(t)
	const outBytes, errBytes = 4 << 20, 1 << 20
	p := start(t, "flood", fmt.Sprint(outBytes), fmt.Sprint(errBytes))
	if !p.AwaitExit(context.Background(), Scaled(10*time.Second)) {
		t.Fatalf("flood %s within 10s", p.ExitDescription())
	}
	if p.ExitCode() != 0 {
		t.Fatalf("flood %s", p.ExitDescription())
	}

	out := p.Stdout()
	if len(out) > stdoutKeep {
		t.Errorf("kept %d bytes of stdout, more than the %d limit", len(out), stdoutKeep)
	}
	if len(out) < stdoutKeep/2 {
		t.Errorf("kept only %d bytes of stdout", len(out))
	}
	if d := p.stdout.Dropped(); d < outBytes-stdoutKeep {
		t.Errorf("stdout Dropped = %d, want at least %d", d, outBytes-stdoutKeep)
	}
	if !strings.HasPrefix(out, "stdout line ") {
		t.Errorf("kept stdout starts with a partial line: %q", out[:min(len(out), 60)])
	}
	if !strings.HasSuffix(out, "\nstdout: last line\n") {
		t.Errorf("kept stdout ends with %q, want the program's last line", out[max(0, len(out)-60):])
	}

	if d := p.stderr.Dropped(); d <= 0 {
		t.Errorf("stderr Dropped = %d, want > 0 after %d bytes", d, errBytes)
	}
	tail := p.StderrTail(2)
	if len(tail) != 2 || tail[1] != "stderr: last line" || !strings.HasPrefix(tail[0], "stderr line ") {
		t.Errorf("StderrTail(2) = %q", tail)
	}
	ev := p.LogEvidence(3)
	if !strings.HasPrefix(ev, "last 3 line(s) of flood's stderr (") || !strings.Contains(ev, " earlier bytes not kept):\n") ||
		!strings.HasSuffix(ev, "\nstderr: last line") {
		t.Errorf("LogEvidence(3) = %q", ev)
	}
}

func TestStopEscalatesToSIGKILL(t *testing.T) {
	needNetns(t)
	port := freePort(t)
	p := start(t, "stubborn", addr(port))
	// Listening means it already ignores SIGTERM.
	if err := p.AwaitListening(context.Background(), port, Scaled(10*time.Second)); err != nil {
		t.Fatal(err)
	}
	grace := 300 * time.Millisecond
	begin := time.Now()
	p.Stop(grace)
	elapsed := time.Since(begin)
	if !p.HasExited() {
		t.Fatal("Stop returned before the program exited")
	}
	if got := p.ExitDescription(); got != "was killed by signal SIGKILL" {
		t.Errorf("a program that ignores SIGTERM %s, want killed by SIGKILL", got)
	}
	if elapsed < grace {
		t.Errorf("SIGKILL came after %v, before the %v grace", elapsed, grace)
	}
	if p.ExitCode() != -1 {
		t.Errorf("ExitCode of a killed program = %d, want -1", p.ExitCode())
	}
}

func TestStopEndsAStoppedProcess(t *testing.T) {
	needNetns(t)
	port := freePort(t)
	p := start(t, "listener", addr(port))
	if err := p.AwaitListening(context.Background(), port, Scaled(10*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := p.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	if err := p.AwaitStopped(context.Background(), Scaled(5*time.Second)); err != nil {
		t.Fatalf("AwaitStopped after SIGSTOP: %v", err)
	}
	// A stopped process cannot run its SIGTERM handler: Stop continues it
	// first, so the handler runs and it exits 0 well within the grace.
	p.Stop(Scaled(5 * time.Second))
	if !p.HasExited() {
		t.Fatal("Stop returned before the program exited")
	}
	if got := p.ExitDescription(); got != "exited with status 0" || p.Stdout() != "bye\n" {
		t.Errorf("a SIGSTOPped program, stopped: %s, stdout %q; want exit 0 from its SIGTERM handler", got, p.Stdout())
	}
}

func TestAwaitStoppedTimesOutOnARunningProcess(t *testing.T) {
	needNetns(t)
	p := start(t, "silent")
	if err := p.AwaitStopped(context.Background(), 50*time.Millisecond); err != context.DeadlineExceeded {
		t.Errorf("AwaitStopped on a running process = %v, want context.DeadlineExceeded", err)
	}
}

func TestStartMissingProgram(t *testing.T) {
	_, err := Start(t.TempDir() + "/no-such-program")
	if err == nil || !strings.Contains(err.Error(), "could not start no-such-program") {
		t.Errorf("Start of a missing program = %v", err)
	}
}

func TestSignalName(t *testing.T) {
	for sig, want := range map[syscall.Signal]string{
		syscall.SIGKILL: "SIGKILL", syscall.SIGSEGV: "SIGSEGV", syscall.SIGUSR1: "user defined signal 1",
	} {
		if got := signalName(sig); got != want {
			t.Errorf("signalName(%d) = %q, want %q", sig, got, want)
		}
	}
}

// TestExitedUnaskedTellsACrashFromAStop: a program that exits by itself exited
// unasked; one the grader stopped (or sent SIGTERM) did not, even when it dies
// of the signal.
func TestExitedUnaskedTellsACrashFromAStop(t *testing.T) {
	quits, err := Start("/bin/sh", "-c", "exit 3")
	if err != nil {
		t.Fatal(err)
	}
	quits.AwaitExit(context.Background(), 5*time.Second)
	if !quits.ExitedUnasked() {
		t.Errorf("a program that exited by itself (%s) should have exited unasked", quits.ExitDescription())
	}
	for _, stop := range []func(*Process){
		func(p *Process) { p.Stop(time.Second) },
		func(p *Process) { p.Signal(syscall.SIGTERM); p.AwaitExit(context.Background(), 5*time.Second) },
	} {
		sleeper, err := Start("/bin/sleep", "30")
		if err != nil {
			t.Fatal(err)
		}
		if sleeper.ExitedUnasked() {
			t.Error("a running program cannot have exited")
		}
		stop(sleeper)
		if !sleeper.HasExited() || sleeper.ExitedUnasked() {
			t.Errorf("a program the grader ended (%s) exited unasked", sleeper.ExitDescription())
		}
	}
}
