package report

import (
	"bytes"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func progressLine(ev ProgressEvent, opt SummaryOptions) string {
	var b bytes.Buffer
	WriteProgress(&b, ev, opt)
	return b.String()
}

func TestProgressPlain(t *testing.T) {
	pass := ProgressEvent{Case: "01-backlog", Criterion: "backlog.listen-backlog", Title: "serves", Status: Passed, Duration: 800 * time.Millisecond}
	want := "  01-backlog      PASS  serves                                         0.8s\n"
	if got := progressLine(pass, SummaryOptions{}); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}

	fail := ProgressEvent{Case: "01-backlog", Criterion: "backlog.sheds-load", Status: Failed, Duration: 6400 * time.Millisecond,
		Message: "37 of 256 clients got no answer within 2s\nmore detail"}
	want = "  01-backlog      FAIL  backlog.sheds-load                             6.4s  37 of 256 clients got no answer within 2s\n"
	if got := progressLine(fail, SummaryOptions{Width: 200}); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

func TestProgressWidthAndColor(t *testing.T) {
	ev := ProgressEvent{Case: "05-server-arch", Title: strings.Repeat("a very long spec title ", 5), Status: Error,
		Duration: 30 * time.Second, Message: strings.Repeat("x", 200)}
	plain := progressLine(ev, SummaryOptions{Width: 80})
	if n := utf8.RuneCountInString(strings.TrimSuffix(plain, "\n")); n > 80 {
		t.Errorf("line of %d runes at width 80: %q", n, plain)
	}
	if strings.Contains(plain, "\x1b") || !strings.Contains(plain, " ERR ") {
		t.Errorf("plain progress line: %q", plain)
	}
	colored := progressLine(ProgressEvent{Case: "01-backlog", Title: "serves", Status: Passed, Duration: time.Second}, SummaryOptions{Color: true})
	if !strings.Contains(colored, "\x1b[32m✓\x1b[0m serves") {
		t.Errorf("colored progress line: %q", colored)
	}
}
