package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
)

// published serves one fake grader binary and counts the requests for it.
func published(t *testing.T, body string) (url string, hits *atomic.Int32) {
	t.Helper()
	hits = new(atomic.Int32)
	name := "/grade_" + runtime.GOOS + "_" + runtime.GOARCH
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != name {
			http.NotFound(w, r)
			return
		}
		hits.Add(1)
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, hits
}

func sum(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// repo writes a grader.lock pinning want for this machine and returns its path.
func repo(t *testing.T, url, want string) string {
	t.Helper()
	dir := t.TempDir()
	lock := fmt.Sprintf("# pinned\nversion 2026.1\nurl %s/\nsha256 grade_%s_%s %s\nsha256 grade_linux_riscv64 %s\n",
		url, runtime.GOOS, runtime.GOARCH, want, strings.Repeat("0", 64))
	path := filepath.Join(dir, lockFile)
	if err := os.WriteFile(path, []byte(lock), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestFetchesVerifiesAndReuses(t *testing.T) {
	const binary = "#!/bin/sh\necho grader\n"
	url, hits := published(t, binary)
	lock := repo(t, url, sum(binary))
	path, err := run(lock, "", io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil || string(data) != binary {
		t.Fatalf("kept %q (%v), want the published binary", data, err)
	}
	if st, _ := os.Stat(path); st.Mode().Perm()&0o100 == 0 {
		t.Errorf("kept grader is not executable: %v", st.Mode())
	}
	if want := filepath.Join(filepath.Dir(lock), cacheDir, "2026.1"); filepath.Dir(path) != want {
		t.Errorf("kept in %s, want %s", filepath.Dir(path), want)
	}
	again, err := run(lock, "", io.Discard)
	if err != nil || again != path || hits.Load() != 1 {
		t.Errorf("second run: %q, %v after %d downloads; want the kept grader without a download", again, err, hits.Load())
	}
}

func TestRefusesAGraderWhoseChecksumDiffers(t *testing.T) {
	url, _ := published(t, "tampered")
	lock := repo(t, url, sum("the real grader"))
	_, err := run(lock, "", io.Discard)
	if err == nil || !strings.Contains(err.Error(), "refusing the grader") || !strings.Contains(err.Error(), sum("tampered")) {
		t.Fatalf("run = %v, want a refusal naming the checksum it got", err)
	}
	matches, _ := filepath.Glob(filepath.Join(filepath.Dir(lock), cacheDir, "*", "*"))
	if len(matches) != 0 {
		t.Errorf("a refused grader was kept: %v", matches)
	}
}

func TestChecksALocalGrader(t *testing.T) {
	lock := repo(t, "http://127.0.0.1:1", sum("good"))
	dir := t.TempDir()
	good, bad := filepath.Join(dir, "good"), filepath.Join(dir, "bad")
	os.WriteFile(good, []byte("good"), 0o755)
	os.WriteFile(bad, []byte("bad"), 0o755)
	if path, err := run(lock, good, io.Discard); err != nil || path != good {
		t.Errorf("local good grader: %q, %v", path, err)
	}
	if _, err := run(lock, bad, io.Discard); err == nil || !strings.Contains(err.Error(), "is not the grader this course pins") {
		t.Errorf("local bad grader: %v, want a refusal", err)
	}
}

func TestOfflineWithoutAKeptGraderSaysWhatToDo(t *testing.T) {
	lock := repo(t, "http://127.0.0.1:1", sum("x"))
	_, err := run(lock, "", io.Discard)
	if err == nil || !strings.Contains(err.Error(), "GRADER=FILE") {
		t.Fatalf("run = %v, want advice for working offline", err)
	}
}

func TestMalformedLockNamesFileAndLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), lockFile)
	os.WriteFile(path, []byte("version 1\nurl http://x\nsha256 grade_linux_amd64 nothex\n"), 0o644)
	_, err := run(path, "", io.Discard)
	if err == nil || !strings.Contains(err.Error(), lockFile+":3:") {
		t.Fatalf("run = %v, want an error at %s:3", err, lockFile)
	}
}
