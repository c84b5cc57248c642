package artifact

import (
	"slices"
	"strings"
	"testing"

	"github.com/wirelab/wirelab/grader/report"
)

func TestChecks(t *testing.T) {
	names := Checks()
	for _, want := range []string{"handshake-sequence", "close-states"} {
		if !slices.Contains(names, want) {
			t.Errorf("Checks() = %v, want %s among them", names, want)
		}
	}
	if !slices.IsSorted(names) {
		t.Errorf("Checks() = %v, want sorted", names)
	}
}

func TestCheckUnknownName(t *testing.T) {
	_, err := Check("handshake-sequnce", "handshake.md", []byte("x"))
	if err == nil {
		t.Fatal("no error for an unknown check")
	}
	if msg := err.Error(); !strings.Contains(msg, `"handshake-sequnce"`) || !strings.Contains(msg, "handshake-sequence") {
		t.Errorf("error %q should name the unknown check and the known ones", msg)
	}
}

func TestCheckZeroLengthContent(t *testing.T) {
	for _, content := range [][]byte{nil, {}} {
		res, err := Check("handshake-sequence", "skeletons/01-backlog/handshake.md", content)
		if err != nil {
			t.Fatal(err)
		}
		if res.Passed || len(res.Findings) != 1 {
			t.Fatalf("result %+v, want one finding", res)
		}
		f := res.Findings[0]
		if f.Line != 0 || !strings.HasPrefix(f.Message, "handshake.md is empty") || !strings.Contains(f.Message, "sequenceDiagram") {
			t.Errorf("finding %+v should say the file is empty and what it should hold", f)
		}
	}
}

func TestSortFindings(t *testing.T) {
	fs := []report.Finding{{Line: 5, Message: "a"}, {Line: 0, Message: "b"}, {Line: 5, Message: "c"}, {Line: 2, Message: "d"}}
	sortFindings(fs)
	var got string
	for _, f := range fs {
		got += f.Message
	}
	if got != "bdac" {
		t.Errorf("order %q, want bdac (by line, stable)", got)
	}
}

func TestBase(t *testing.T) {
	for in, want := range map[string]string{"a/b/handshake.md": "handshake.md", `c:\x\h.md`: "h.md", "h.md": "h.md", "": "the artifact"} {
		if got := base(in); got != want {
			t.Errorf("base(%q) = %q, want %q", in, got, want)
		}
	}
}
