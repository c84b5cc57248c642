package report

import (
	"bytes"
	"io"
	"testing"
)

func TestWritersHandleEmptyAndNilReports(t *testing.T) {
	writers := map[string]func(io.Writer, *Report) error{
		"json":     WriteJSON,
		"junit":    WriteJUnit,
		"markdown": WriteMarkdown,
		"summary":  func(w io.Writer, r *Report) error { return WriteSummary(w, r, SummaryOptions{}) },
	}
	for name, write := range writers {
		var b bytes.Buffer
		if err := write(&b, &Report{}); err != nil || b.Len() == 0 {
			t.Errorf("%s of an empty report: %v, %d bytes", name, err, b.Len())
		}
		if err := write(&b, nil); err == nil {
			t.Errorf("%s of a nil report: no error", name)
		}
	}
}
