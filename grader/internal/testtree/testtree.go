// Package testtree writes small file trees (a Go module, a submission) into a
// test's temporary directory, for the grader's own tests.
package testtree

import (
	"os"
	"path/filepath"
	"testing"
)

// Write creates files (slash paths to contents) under a fresh temporary
// directory of t and returns the directory.
func Write(t testing.TB, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, text := range files {
		path := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}
