// Command getgrader fetches the course's grader for a wirelab student
// repository, checks it against the SHA-256 that grader.lock pins, keeps it in
// .grader/ for the next run (and for working offline), and prints its path;
// `make grade` runs what it prints. A grader whose checksum differs is never
// run. The course's release copies this file into the student repository as
// tools/getgrader/main.go; it uses the standard library only.
//
//	getgrader                 fetch (or reuse) the pinned grader, print its path
//	getgrader -local FILE     check FILE against the pin instead of downloading
package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"
)

// lockFile pins the grader: its version, where it is published, and the
// SHA-256 of each binary.
const lockFile = "grader.lock"

// cacheDir keeps verified graders, per version, in the repository (git ignores it).
const cacheDir = ".grader"

func main() {
	local := flag.String("local", "", "check this grader `FILE` against grader.lock instead of downloading one")
	lockPath := flag.String("lock", lockFile, "the lock `FILE` that pins the grader")
	flag.Parse()
	path, err := run(*lockPath, *local, os.Stderr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "getgrader: %v\n", err)
		os.Exit(1)
	}
	fmt.Println(path)
}

// lock is grader.lock, parsed.
type lock struct {
	version string
	url     string
	sums    map[string]string // binary name -> lower-case hex SHA-256
}

func readLock(path string) (*lock, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w (it comes with the course's repository: restore it with git checkout %s)", err, path)
	}
	defer f.Close()
	l := &lock{sums: map[string]string{}}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		switch {
		case fields[0] == "version" && len(fields) == 2:
			l.version = fields[1]
		case fields[0] == "url" && len(fields) == 2:
			l.url = strings.TrimRight(fields[1], "/")
		case fields[0] == "sha256" && len(fields) == 3 && len(fields[2]) == 64:
			l.sums[fields[1]] = strings.ToLower(fields[2])
		default:
			return nil, fmt.Errorf("%s:%d: cannot read %q (want version V, url U or sha256 NAME HEX)", path, n, line)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if l.version == "" || l.url == "" || len(l.sums) == 0 {
		return nil, fmt.Errorf("%s: needs a version, a url and at least one sha256 line", path)
	}
	return l, nil
}

// run returns the path of a verified grader for this machine.
func run(lockPath, local string, log io.Writer) (string, error) {
	l, err := readLock(lockPath)
	if err != nil {
		return "", err
	}
	name := "grade_" + runtime.GOOS + "_" + runtime.GOARCH
	want, ok := l.sums[name]
	if !ok {
		return "", fmt.Errorf("the grader runs on Linux only (this machine is %s/%s; %s pins %s): grade in a Linux machine or VM, or push and read the CI check",
			runtime.GOOS, runtime.GOARCH, lockPath, strings.Join(slices.Sorted(maps.Keys(l.sums)), ", "))
	}
	if local != "" {
		got, err := fileSum(local)
		if err != nil {
			return "", err
		}
		if got != want {
			return "", fmt.Errorf("%s is not the grader this course pins: its SHA-256 is %s, %s wants %s for %s (version %s); nothing was run", local, got, lockPath, want, name, l.version)
		}
		return filepath.Abs(local)
	}
	dir := filepath.Join(filepath.Dir(lockPath), cacheDir, l.version)
	cached := filepath.Join(dir, name)
	if got, err := fileSum(cached); err == nil && got == want {
		return filepath.Abs(cached)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	url := l.url + "/" + name
	fmt.Fprintf(log, "getgrader: fetching the grader %s from %s\n", l.version, url)
	got, err := download(url, cached)
	if err != nil {
		return "", err
	}
	if got != want {
		os.Remove(cached)
		return "", fmt.Errorf("refusing the grader downloaded from %s: its SHA-256 is %s, but %s pins %s; nothing was run (the download was corrupted or the release changed: tell your instructor)", url, got, lockPath, want)
	}
	fmt.Fprintf(log, "getgrader: SHA-256 verified, kept in %s\n", cached)
	return filepath.Abs(cached)
}

// download writes url to path (through a temporary file beside it) and returns
// the SHA-256 of what it wrote.
func download(url, path string) (string, error) {
	client := &http.Client{Timeout: 5 * time.Minute}
	resp, err := client.Get(url)
	if err != nil {
		return "", fmt.Errorf("cannot fetch the grader: %w (offline? a grader fetched before is reused; or give one with make grade GRADER=FILE)", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("cannot fetch the grader: %s answered %s", url, resp.Status)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".download-*")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(tmp, h), resp.Body); err != nil {
		tmp.Close()
		return "", fmt.Errorf("cannot fetch the grader from %s: %w", url, err)
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	if err := os.Chmod(tmp.Name(), 0o755); err != nil {
		return "", err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func fileSum(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
