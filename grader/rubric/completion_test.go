package rubric

import (
	"reflect"
	"strings"
	"testing"

	"github.com/wirelab/wirelab/grader/report"
)

// graded is a case whose artifact has the given status and tags; status "" means no artifact.
func graded(slug, file string, st report.Status, tags ...string) report.Case {
	c := report.Case{Slug: slug}
	if st != "" {
		c.Artifact = &report.Artifact{File: slug + "/" + file, Status: st, Tags: tags}
	}
	return c
}

func TestEvaluate(t *testing.T) {
	m, err := LoadModule("../../rubrics/module.yaml")
	if err != nil {
		t.Fatal(err)
	}
	P, F := report.Passed, report.Failed
	backlog := graded("01-backlog", "handshake.md", P, "tcp-handshake")
	udp := graded("02-udp-metrics", "transport-decision.md", P, "transport-comparison")
	tw := graded("03-time-wait", "close-states.md", P, "tcp-state-transitions")
	hol := graded("04-hol-quic", "hol-comparison.md", P, "transport-comparison")
	arch := graded("05-server-arch", "architecture.md", P, "architecture-comparison")

	type req struct {
		have    int
		met     bool
		missing []string // substrings of Missing; empty when met
	}
	tests := []struct {
		name      string
		cases     []report.Case
		met       bool
		completed []string
		reqs      [3]req // three-artifacts, tcp-state-transitions, comparison
	}{
		{
			name:      "no cases",
			completed: []string{},
			reqs: [3]req{
				{0, false, []string{"3 more completed artifacts (completed so far: none; artifacts offered so far: 0 of the 0 graded cases)", `Each case has one artifact`}},
				{0, false, []string{"1 more completed artifact tagged tcp-state-transitions (no artifact is completed yet). Case 03's close-states.md earns this tag"}},
				{0, false, []string{"1 more completed artifact tagged transport-comparison or architecture-comparison (no artifact is completed yet)", "case 05's architecture.md earns architecture-comparison"}},
			},
		},
		{
			name:      "0 completed: the artifact failed",
			cases:     []report.Case{graded("01-backlog", "handshake.md", F)},
			completed: []string{},
			reqs: [3]req{
				{0, false, []string{"3 more completed artifacts (completed so far: none; artifacts offered so far: 1 of the 1 graded case)"}},
				{0, false, []string{"no artifact is completed yet"}},
				{0, false, []string{"no artifact is completed yet"}},
			},
		},
		{
			name:      "1 completed of 5 cases",
			cases:     []report.Case{backlog, graded("02-udp-metrics", "", ""), graded("03-time-wait", "", ""), graded("04-hol-quic", "", ""), graded("05-server-arch", "", "")},
			completed: []string{"01-backlog/handshake.md"},
			reqs: [3]req{
				{1, false, []string{"2 more completed artifacts (completed so far: 01-backlog/handshake.md; artifacts offered so far: 1 of the 5 graded cases)"}},
				{0, false, []string{"1 more completed artifact tagged tcp-state-transitions (completed so far: 01-backlog/handshake.md; tagged so far: none)", "Case 03's close-states.md"}},
				{0, false, []string{"tagged so far: none", "Case 02's transport-decision.md or case 04's hol-comparison.md earns"}},
			},
		},
		{
			name:      "3 completed, no state transitions",
			cases:     []report.Case{backlog, udp, graded("03-time-wait", "close-states.md", F, "tcp-state-transitions"), hol},
			completed: []string{"01-backlog/handshake.md", "02-udp-metrics/transport-decision.md", "04-hol-quic/hol-comparison.md"},
			reqs: [3]req{
				{3, true, nil},
				{0, false, []string{"completed so far: 01-backlog/handshake.md, 02-udp-metrics/transport-decision.md, 04-hol-quic/hol-comparison.md; tagged so far: none"}},
				{2, true, nil},
			},
		},
		{
			name:      "3 completed, standard met",
			cases:     []report.Case{backlog, tw, arch},
			met:       true,
			completed: []string{"01-backlog/handshake.md", "03-time-wait/close-states.md", "05-server-arch/architecture.md"},
			reqs:      [3]req{{3, true, nil}, {1, true, nil}, {1, true, nil}},
		},
		{
			name:      "all five",
			cases:     []report.Case{backlog, udp, tw, hol, arch},
			met:       true,
			completed: []string{"01-backlog/handshake.md", "02-udp-metrics/transport-decision.md", "03-time-wait/close-states.md", "04-hol-quic/hol-comparison.md", "05-server-arch/architecture.md"},
			reqs:      [3]req{{5, true, nil}, {1, true, nil}, {3, true, nil}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := m.Evaluate(tt.cases)
			if got.Met != tt.met || !reflect.DeepEqual(got.Completed, tt.completed) {
				t.Errorf("met %v completed %q; want %v %q", got.Met, got.Completed, tt.met, tt.completed)
			}
			if len(got.Requirements) != 3 {
				t.Fatalf("%d requirements", len(got.Requirements))
			}
			for i, w := range tt.reqs {
				r := got.Requirements[i]
				if r.ID != m.Requirements[i].ID || r.Text != m.Requirements[i].Text || r.Need != m.Requirements[i].MinArtifacts {
					t.Errorf("requirement %d header %+v", i, r)
				}
				if r.Have != w.have || r.Met != w.met {
					t.Errorf("%s: have %d met %v; want %d %v", r.ID, r.Have, r.Met, w.have, w.met)
				}
				if w.met && r.Missing != "" {
					t.Errorf("%s is met but says missing %q", r.ID, r.Missing)
				}
				for _, s := range w.missing {
					if !strings.Contains(r.Missing, s) {
						t.Errorf("%s: missing %q\nwant it to contain %q", r.ID, r.Missing, s)
					}
				}
			}
		})
	}
}

func TestEvaluateMinAboveOneWithTags(t *testing.T) {
	m := &Module{Requirements: []Requirement{{ID: "two-tagged", Text: "Two tagged.", MinArtifacts: 2, AnyTag: []string{"alpha", "beta"}}}}
	got := m.Evaluate([]report.Case{
		graded("a", "a.md", report.Passed, "alpha"),
		graded("b", "b.md", report.Passed, "gamma"),
		graded("c", "c.md", report.Failed, "beta"),
	})
	r := got.Requirements[0]
	want := "1 more completed artifact tagged alpha or beta (completed so far: a/a.md, b/b.md; tagged so far: a/a.md)"
	if got.Met || r.Have != 1 || r.Need != 2 || r.Missing != want {
		t.Errorf("got %+v\nwant missing %q", got, want)
	}
	got = m.Evaluate([]report.Case{graded("a", "a.md", report.Passed, "alpha"), graded("c", "c.md", report.Passed, "beta", "alpha")})
	if !got.Met || got.Requirements[0].Have != 2 {
		t.Errorf("got %+v", got)
	}
}

func TestEvaluateEmptyStandard(t *testing.T) {
	got := (&Module{}).Evaluate(nil)
	if !got.Met || got.Completed == nil || got.Requirements == nil {
		t.Errorf("an empty standard is met, with empty (not null) lists: %+v", got)
	}
}
