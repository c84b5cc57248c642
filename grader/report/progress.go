package report

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// ProgressEvent is a criterion's spec finishing while grading runs.
type ProgressEvent struct {
	Case      string        // case slug, e.g. "01-backlog"
	Criterion string        // criterion id, e.g. "backlog.sheds-load"
	Title     string        // what the spec checks; the criterion id is shown when empty
	Status    Status        // the spec's verdict
	Duration  time.Duration // how long the spec ran
	Message   string        // first line of the failure; may be empty
}

const (
	progressCaseW  = 14 // the longest slug, "05-server-arch"
	progressTitleW = 44
)

// WriteProgress prints one line for ev, for example
//
//	01-backlog      PASS  serves REQ with OK after the work time          0.8s
//	01-backlog      FAIL  sheds load before the accept queue fills        2.1s  37 of 256 clients timed out
//
// With color the status is a colored mark (✓ ✗ ○ !) instead of the word. The line is cut
// to the width. Write errors are ignored: progress is best effort.
func WriteProgress(w io.Writer, ev ProgressEvent, opt SummaryOptions) {
	p := painter(opt.Color)
	status := seg{padRight(ev.Status.word(), 4) + "  ", ""}
	if opt.Color {
		status = seg{ev.Status.symbol(), ev.Status.ansi()}
	}
	name := oneLine(ev.Title)
	if name == "" {
		name = ev.Criterion
	}
	segs := []seg{
		{tableIndent + padRight(ev.Case, progressCaseW) + "  ", ""},
		status,
	}
	if opt.Color {
		segs = append(segs, seg{" ", ""})
	}
	segs = append(segs,
		seg{padRight(truncate(name, progressTitleW), progressTitleW), ""},
		seg{" " + padLeft(SecondsOf(ev.Duration).String(), 6), ""},
	)
	if msg := firstLine(ev.Message); msg != "" {
		segs = append(segs, seg{"  " + msg, ""})
	}
	line := p.line(opt.width(), segs...)
	_, _ = fmt.Fprintln(w, strings.TrimRight(line, " "))
}
