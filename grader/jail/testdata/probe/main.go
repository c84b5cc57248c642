// Command probe reports, as JSON on stdout, what a confined program can see
// and do; the jail's tests start it through the launcher. With -hog N it
// allocates and touches N MiB instead.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"os"
	"strings"
	"syscall"
)

type report struct {
	UID, GID  int
	Groups    []int
	Status    map[string]string // Cap*, NoNewPrivs, from /proc/self/status
	Env       []string
	Cwd       string
	RootNames []string
	Cgroup    string
	Init      map[string]string // what became of each attempt on pid 1 (the sandbox)
	RawSocket string
	WriteRoot string
	NoFile    [2]uint64
	FileSize  [2]uint64
	Processes [2]uint64
}

func errText(err error) string {
	if err == nil {
		return "ok"
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno.Error()
	}
	return err.Error()
}

func main() {
	hog := flag.Int("hog", 0, "allocate and touch this many MiB")
	flag.Parse()
	if *hog > 0 {
		var keep [][]byte
		for i := 0; i < *hog; i++ {
			b := make([]byte, 1<<20)
			for j := range b {
				b[j] = 1
			}
			keep = append(keep, b)
		}
		os.Stdout.WriteString("survived\n")
		_ = keep
		return
	}
	r := report{UID: os.Getuid(), GID: os.Getgid(), Env: os.Environ(), Status: map[string]string{}, Init: map[string]string{}}
	r.Groups, _ = os.Getgroups()
	r.Cwd, _ = os.Getwd()
	if data, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			k, v, ok := strings.Cut(line, ":")
			if ok && (strings.HasPrefix(k, "Cap") || k == "NoNewPrivs") {
				r.Status[k] = strings.TrimSpace(v)
			}
		}
	}
	if entries, err := os.ReadDir("/"); err == nil {
		for _, e := range entries {
			r.RootNames = append(r.RootNames, e.Name())
		}
	}
	if data, err := os.ReadFile("/proc/self/cgroup"); err == nil {
		r.Cgroup = string(data)
	}
	_, err := os.ReadFile("/proc/1/environ")
	r.Init["read environ"] = errText(err)
	_, err = os.Readlink("/proc/1/root")
	r.Init["read root"] = errText(err)
	r.Init["signal"] = errText(syscall.Kill(1, syscall.SIGUSR2))
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_RAW, syscall.IPPROTO_ICMP)
	if err == nil {
		syscall.Close(fd)
	}
	r.RawSocket = errText(err)
	r.WriteRoot = errText(os.WriteFile("/etc/planted", []byte("x"), 0o644))
	var lim syscall.Rlimit
	syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
	r.NoFile = [2]uint64{lim.Cur, lim.Max}
	syscall.Getrlimit(syscall.RLIMIT_FSIZE, &lim)
	r.FileSize = [2]uint64{lim.Cur, lim.Max}
	syscall.Getrlimit(6, &lim) // RLIMIT_NPROC
	r.Processes = [2]uint64{lim.Cur, lim.Max}
	json.NewEncoder(os.Stdout).Encode(r)
}
