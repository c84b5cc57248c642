package artifact

import (
	"path/filepath"
	"strings"
	"testing"
)

// badSample is an artifact that must fail its check, with the finding that
// says why: its line and pieces of its message.
type badSample struct {
	file string
	line int
	want []string
}

// goodSample is an artifact that must pass, with the encouraging notes it
// earns: one piece of each note, in order.
type goodSample struct {
	file  string
	notes []string
}

// testSamples grades the samples of testdata/<dir> with check: each one in
// bad/ fails with its finding, each one in good/ passes with exactly its
// notes, and the two lists name exactly the files there (a sample nobody
// asserts on tests nothing).
func testSamples(t *testing.T, check, dir string, bad []badSample, good []goodSample) {
	t.Helper()
	var badFiles, goodFiles []string
	for _, tc := range bad {
		badFiles = append(badFiles, tc.file)
		t.Run("bad/"+tc.file, func(t *testing.T) {
			res := checkFile(t, check, filepath.Join("testdata", dir, "bad", tc.file))
			if res.Passed {
				t.Fatal("passed, want a failure")
			}
			for _, f := range res.Findings {
				if f.Line == tc.line && containsAll(f.Message, tc.want) {
					return
				}
			}
			t.Errorf("no finding at line %d containing %q; findings:\n%s", tc.line, tc.want, dump(res))
		})
	}
	for _, tc := range good {
		goodFiles = append(goodFiles, tc.file)
		t.Run("good/"+tc.file, func(t *testing.T) {
			res := checkFile(t, check, filepath.Join("testdata", dir, "good", tc.file))
			if !res.Passed {
				t.Fatalf("failed, want a pass; findings:\n%s", dump(res))
			}
			if len(res.Notes) != len(tc.notes) {
				t.Fatalf("notes = %q, want %d about %q", res.Notes, len(tc.notes), tc.notes)
			}
			for i, want := range tc.notes {
				if !strings.Contains(res.Notes[i], want) {
					t.Errorf("note %q should be about %q", res.Notes[i], want)
				}
			}
		})
	}
	assertSamplesListed(t, dir, badFiles, goodFiles)
}

// containsAll reports whether s holds every one of the parts.
func containsAll(s string, parts []string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}
