package report

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/name, or rewrites the file with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./grader/report/ -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run with -update if the change is intended)\n--- got ---\n%s\n--- want ---\n%s", name, got, want)
	}
}

func TestGolden(t *testing.T) {
	writers := []struct {
		file  string
		write func(*bytes.Buffer, *Report) error
	}{
		{"report.json", func(b *bytes.Buffer, r *Report) error { return WriteJSON(b, r) }},
		{"junit.xml", func(b *bytes.Buffer, r *Report) error { return WriteJUnit(b, r) }},
		{"report.md", func(b *bytes.Buffer, r *Report) error { return WriteMarkdown(b, r) }},
		{"summary.txt", func(b *bytes.Buffer, r *Report) error { return WriteSummary(b, r, SummaryOptions{Width: 100}) }},
		{"annotations.txt", func(b *bytes.Buffer, r *Report) error { return WriteAnnotations(b, r) }},
		{"classroom.json", func(b *bytes.Buffer, r *Report) error { return WriteClassroom(b, r) }},
		{"gradescope.json", func(b *bytes.Buffer, r *Report) error { return WriteGradescope(b, r) }},
	}
	for _, wr := range writers {
		t.Run(wr.file, func(t *testing.T) {
			var b bytes.Buffer
			if err := wr.write(&b, sampleReport()); err != nil {
				t.Fatal(err)
			}
			golden(t, wr.file, b.Bytes())
		})
	}
}
