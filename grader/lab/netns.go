package lab

import (
	"errors"
	"fmt"
	"runtime"

	"golang.org/x/sys/unix"

	"github.com/wirelab/wirelab/grader/sandbox"
)

// Netns is an extra network namespace inside the sandbox, held by one OS
// thread that lives in it for the namespace's whole life. Work that must
// happen inside the namespace (creating sockets or devices, writing its
// sysctls, starting programs) runs on that thread through Do; nothing else
// ever runs there, so no goroutine lands in a namespace by accident.
//
// Programs started with Start inherit the namespace, and since their parent
// thread is the namespace's thread, Pdeathsig kills them when it ends (Close).
type Netns struct {
	Name string
	work chan func()
	done chan struct{}
}

// ErrNamespacesDenied is in the error of NewNetns when the kernel refuses this
// process a network namespace (a container without CAP_SYS_ADMIN): a spec
// that needs one is not graded there (suite.SkipIfDenied), rather than failed.
var ErrNamespacesDenied = errors.New("this machine does not let the grader create network namespaces")

// NewNetns creates a fresh network namespace with loopback up.
func NewNetns(name string) (*Netns, error) {
	ns := &Netns{Name: name, work: make(chan func()), done: make(chan struct{})}
	ready := make(chan error, 1)
	go func() {
		// Locked and never unlocked: when this goroutine returns, the runtime
		// ends the thread with it, and the namespace goes when its last user does.
		runtime.LockOSThread()
		defer close(ns.done)
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			if errors.Is(err, unix.EPERM) {
				err = fmt.Errorf("%w: %w", ErrNamespacesDenied, err)
			}
			ready <- fmt.Errorf("lab: netns %s: unshare: %w", name, err)
			return
		}
		if err := sandbox.LinkUp("lo"); err != nil {
			ready <- fmt.Errorf("lab: netns %s: %w", name, err)
			return
		}
		ready <- nil
		for f := range ns.work {
			f()
		}
	}()
	if err := <-ready; err != nil {
		<-ns.done
		return nil, err
	}
	return ns, nil
}

// Do runs f on the namespace's thread and returns its error.
func (ns *Netns) Do(f func() error) error {
	errc := make(chan error, 1)
	select {
	case ns.work <- func() { errc <- f() }:
	case <-ns.done:
		return fmt.Errorf("lab: netns %s is closed", ns.Name)
	}
	return <-errc
}

// Start starts a program inside the namespace (see the package-level Start).
// The program's AwaitListening and AwaitBound look for its sockets here.
func (ns *Netns) Start(path string, args ...string) (*Process, error) {
	return ns.start(false, path, args)
}

// StartFed starts a program inside the namespace with a pipe to its stdin
// (see the package-level StartFed).
func (ns *Netns) StartFed(path string, args ...string) (*Process, error) {
	return ns.start(true, path, args)
}

func (ns *Netns) start(fed bool, path string, args []string) (*Process, error) {
	var p *Process
	err := ns.Do(func() (err error) {
		p, err = startProcess(fed, path, args)
		return err
	})
	if p != nil {
		p.ns = ns
	}
	return p, err
}

// Sysctl writes a per-namespace sysctl such as "net.ipv4.tcp_syncookies".
func (ns *Netns) Sysctl(key, value string) error {
	return ns.Do(func() error { return sandbox.SetSysctl(key, value) })
}

// Counters reads the namespace's kernel counters.
func (ns *Netns) Counters() (c Counters, err error) {
	err = ns.Do(func() (err error) {
		c, err = ReadCounters()
		return err
	})
	return c, err
}

// TCPSockets dumps the namespace's TCP socket table.
func (ns *Netns) TCPSockets() (s []Socket, err error) {
	err = ns.Do(func() (err error) {
		s, err = TCPSockets()
		return err
	})
	return s, err
}

// UDPSockets reads the namespace's UDP socket table (see UDPSockets).
func (ns *Netns) UDPSockets() (s []UDPSocket, err error) {
	err = ns.Do(func() (err error) {
		s, err = UDPSockets()
		return err
	})
	return s, err
}

// DestroyTCP ends the namespace's TCP connections on a local port (see DestroyTCP).
func (ns *Netns) DestroyTCP(port uint16) (n int, err error) {
	err = ns.Do(func() (err error) {
		n, err = DestroyTCP(port)
		return err
	})
	return n, err
}

// Close ends the namespace's thread. Stop the programs started in it first:
// any still running are killed (Pdeathsig) when the thread ends.
func (ns *Netns) Close() {
	select {
	case <-ns.done:
		return
	default:
	}
	close(ns.work)
	<-ns.done
}
