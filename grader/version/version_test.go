package version

import (
	"strings"
	"testing"
	"testing/fstest"
)

func TestDigestFollowsTheRubrics(t *testing.T) {
	a := fstest.MapFS{"01-x.yaml": {Data: []byte("total: 100\n")}, "module.yaml": {Data: []byte("m\n")}}
	b := fstest.MapFS{"01-x.yaml": {Data: []byte("total: 90\n")}, "module.yaml": {Data: []byte("m\n")}}
	renamed := fstest.MapFS{"02-x.yaml": {Data: []byte("total: 100\n")}, "module.yaml": {Data: []byte("m\n")}}
	if digest(a) != digest(a) || len(digest(a)) != 16 {
		t.Fatalf("digest is not a stable 16-digit hex: %q", digest(a))
	}
	if digest(a) == digest(b) || digest(a) == digest(renamed) {
		t.Error("a change of a rubric's points or name keeps the digest")
	}
	if RubricsDigest() == "unreadable" {
		t.Error("the embedded rubrics cannot be read")
	}
}

func TestShortNamesVersionAndRubrics(t *testing.T) {
	defer func(v, c string) { Version, Commit = v, c }(Version, Commit)
	Version, Commit = "2026.1", "0123456789abcdef0123"
	if got, want := Short(), "2026.1+rubrics."+RubricsDigest(); got != want {
		t.Errorf("Short() = %q, want %q", got, want)
	}
	Version, Commit = "dev", "0123456789abcdef0123+dirty"
	if got := Short(); !strings.HasPrefix(got, "dev.0123456789ab-dirty+rubrics.") {
		t.Errorf("a development build's Short() = %q, want its commit and -dirty", got)
	}
	Flavor = "student"
	defer func() { Flavor = "" }()
	if !strings.Contains(Long(), "(student build)") || !Student() {
		t.Errorf("Long() = %q", Long())
	}
}
