package mutant

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wirelab/wirelab/grader/build"
	"github.com/wirelab/wirelab/grader/internal/testtree"
)

func TestLoad(t *testing.T) {
	m, err := Load("testdata/set/alpha")
	if err != nil {
		t.Fatal(err)
	}
	if m.Name != "alpha" || m.Dir != "testdata/set/alpha" {
		t.Errorf("Name %q, Dir %q", m.Name, m.Dir)
	}
	if m.Mistake != "Adds one to the answer, a plausible off-by-one." {
		t.Errorf("Mistake = %q", m.Mistake)
	}
	if !slices.Equal(m.Fails, []string{"demo.answer"}) {
		t.Errorf("Fails = %q", m.Fails)
	}
	// In a `|2` block the tab after the two spaces is the Go indentation.
	want := []Edit{{File: "main.go", Find: "\tfmt.Println(answer)\n", Replace: "\tfmt.Println(answer + 1)\n"}}
	if !slices.Equal(m.Edits, want) {
		t.Errorf("Edits = %q, want %q", m.Edits, want)
	}
}

func TestLoadErrors(t *testing.T) {
	for _, tc := range []struct {
		dir  string
		want []string
	}{
		{"no-mistake", []string{"mistake is missing"}},
		{"no-fails", []string{"fails lists no criterion: a mutant must declare what it breaks"}},
		{"no-edits", []string{"edits is empty: the mutant would be the reference"}},
		{"edit-without-find", []string{"edit 2 needs file and find"}},
		{"unknown-key", []string{"line 6: field replacement not found"}},
		{"not-yaml", []string{"yaml:", "line 1"}},
		{"everything-missing", []string{"mistake is missing; fails lists no criterion", "; edits is empty"}},
	} {
		t.Run(tc.dir, func(t *testing.T) {
			dir := filepath.Join("testdata", "bad", tc.dir)
			m, err := Load(dir)
			if err == nil {
				t.Fatalf("Load = %+v, want an error", m)
			}
			msg := err.Error()
			if prefix := filepath.Join(dir, FileName) + ": "; !strings.HasPrefix(msg, prefix) {
				t.Errorf("error %q does not start with the file %q", msg, prefix)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not say %q", msg, w)
				}
			}
		})
	}

	if _, err := Load(t.TempDir()); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load of a directory without %s = %v, want not-exist", FileName, err)
	}
}

func TestLoadAll(t *testing.T) {
	ms, err := LoadAll("testdata/set")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range ms {
		names = append(names, m.Name)
	}
	if !slices.Equal(names, []string{"alpha", "zeta"}) {
		t.Errorf("LoadAll = %v, want [alpha zeta]: one per subdirectory, sorted, files ignored", names)
	}

	if _, err := LoadAll("testdata/bad"); err == nil || !strings.Contains(err.Error(), FileName) {
		t.Errorf("LoadAll over broken mutants = %v, want the first one's error", err)
	}
	if _, err := LoadAll("testdata/none"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("LoadAll of a missing directory = %v", err)
	}
}

// The case's real mutants load, declare criteria of their case, and apply
// cleanly to the reference they mutate (every find text occurs once).
func TestFixtureMutants(t *testing.T) {
	const fixtures = "../../fixtures/01-backlog"
	ms, err := LoadAll(filepath.Join(fixtures, "mutants"))
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) < 7 {
		t.Errorf("%d mutants, want at least 7", len(ms))
	}
	work := t.TempDir()
	for _, m := range ms {
		for _, c := range m.Fails {
			if !strings.HasPrefix(c, "backlog.") {
				t.Errorf("mutant %s fails %q, not a criterion of 01-backlog (backlog.*)", m.Name, c)
			}
		}
		if _, err := m.Overlay(filepath.Join(fixtures, "reference"), work); err != nil {
			t.Errorf("mutant %s does not apply to the reference: %v", m.Name, err)
		}
	}
}

// A reference solution in a module of its own: it prints "answer: 41".
var referenceFiles = map[string]string{
	"go.mod": "module example.com/ref\n\ngo 1.26\n",
	"main.go": `package main

import (
	"fmt"

	"example.com/ref/label"
)

const answer = 41

func main() {
	fmt.Println(label.Text, answer)
}
`,
	"label/label.go": "package label\n\nconst Text = \"answer:\"\n",
}

func reference(t *testing.T) string {
	t.Helper()
	return testtree.Write(t, referenceFiles)
}

// run builds the reference (with the overlay, if any) and returns its output.
func run(t *testing.T, ref, overlay string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out := filepath.Join(t.TempDir(), "ref")
	if err := build.Program(ctx, build.Options{Root: ref, Dir: ref, Out: out, Overlay: overlay}); err != nil {
		t.Fatal(err)
	}
	got, err := exec.Command(out).Output()
	if err != nil {
		t.Fatal(err)
	}
	return string(got)
}

func readOverlay(t *testing.T, path string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var o struct{ Replace map[string]string }
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&o); err != nil {
		t.Fatalf("overlay %s: %v\n%s", path, err, data)
	}
	return o.Replace
}

func TestOverlayBuildsTheMutatedProgram(t *testing.T) {
	ref := reference(t)
	work := t.TempDir()
	m := &Mutant{Name: "wrong-answer", Edits: []Edit{
		{File: "main.go", Find: "const answer = 41", Replace: "const answer = 42"},
		{File: "label/label.go", Find: `"answer:"`, Replace: `"mutated:"`},
		// Edits apply in order: the second edit of a file sees the first's result.
		{File: "main.go", Find: "answer = 42", Replace: "answer = 43"},
	}}
	path, err := m.Overlay(ref, work)
	if err != nil {
		t.Fatal(err)
	}
	if path != filepath.Join(work, "overlay-wrong-answer.json") {
		t.Errorf("overlay written to %s", path)
	}
	replace := readOverlay(t, path)
	mainGo, labelGo := filepath.Join(ref, "main.go"), filepath.Join(ref, "label", "label.go")
	if len(replace) != 2 || replace[mainGo] == "" || replace[labelGo] == "" {
		t.Fatalf("Replace = %v, want exactly %s and %s", replace, mainGo, labelGo)
	}
	for target, copyPath := range replace {
		if !filepath.IsAbs(target) || !filepath.IsAbs(copyPath) {
			t.Errorf("overlay entry %q → %q: want absolute paths", target, copyPath)
		}
		if !strings.HasPrefix(copyPath, work+string(filepath.Separator)) {
			t.Errorf("the edited copy %s is not under the work directory %s", copyPath, work)
		}
	}
	if data, _ := os.ReadFile(replace[mainGo]); !strings.Contains(string(data), "const answer = 43\n") {
		t.Errorf("edited main.go:\n%s", data)
	}
	// The reference itself is never changed.
	for name, text := range referenceFiles {
		if data, _ := os.ReadFile(filepath.Join(ref, filepath.FromSlash(name))); string(data) != text {
			t.Errorf("the reference's %s changed:\n%s", name, data)
		}
	}

	if got := run(t, ref, ""); got != "answer: 41\n" {
		t.Errorf("the reference printed %q", got)
	}
	if got := run(t, ref, path); got != "mutated: 43\n" {
		t.Errorf("the reference built with the overlay printed %q, want the mutant's %q", got, "mutated: 43\n")
	}
}

func TestOverlayRejectsAmbiguousOrMissingFind(t *testing.T) {
	ref := reference(t)
	for _, tc := range []struct {
		edits []Edit
		want  string
	}{
		{[]Edit{{File: "main.go", Find: "const answer = 40", Replace: "x"}},
			"mutant m, edit 1: the find text occurs 0 times in main.go, want exactly once (has the reference changed?)"},
		{[]Edit{{File: "main.go", Find: "41", Replace: "42"}, {File: "main.go", Find: "answer", Replace: "x"}},
			"mutant m, edit 2: the find text occurs 2 times in main.go, want exactly once"},
		{[]Edit{{File: "label/label.go", Find: "Text", Replace: "T"}, {File: "label/label.go", Find: "Text", Replace: "T"}},
			"mutant m, edit 2: the find text occurs 0 times in label/label.go"},
		{[]Edit{{File: "nope.go", Find: "x", Replace: "y"}},
			"mutant m, edit 1: open " + filepath.Join(ref, "nope.go") + ": no such file or directory"},
	} {
		m := &Mutant{Name: "m", Edits: tc.edits}
		if _, err := m.Overlay(ref, t.TempDir()); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Overlay(%q) = %v, want an error saying %q", tc.edits, err, tc.want)
		}
	}
}

// Relative reference and work directories (from the caller's directory) give
// an overlay that go build can use from the program's own directory.
func TestOverlayRelativePaths(t *testing.T) {
	ref, work := reference(t), t.TempDir()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	relRef, err1 := filepath.Rel(wd, ref)
	relWork, err2 := filepath.Rel(wd, work)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	m := &Mutant{Name: "rel", Edits: []Edit{{File: "main.go", Find: "41", Replace: "7"}}}
	path, err := m.Overlay(relRef, relWork)
	if err != nil {
		t.Fatal(err)
	}
	for target, copyPath := range readOverlay(t, path) {
		if target != filepath.Join(ref, "main.go") || !filepath.IsAbs(copyPath) {
			t.Errorf("overlay entry %q → %q: want %s → an absolute path", target, copyPath, filepath.Join(ref, "main.go"))
		}
	}
	if got := run(t, ref, path); got != "answer: 7\n" {
		t.Errorf("built with the overlay: %q, want %q", got, "answer: 7\n")
	}
}

// A harmless variant loads from variant.yaml: its approach, whole files and
// edits; it declares no failures, and it builds like a mutant.
func TestLoadVariant(t *testing.T) {
	v, err := Load("testdata/variants/other-way")
	if err != nil {
		t.Fatal(err)
	}
	if !v.Variant || len(v.Fails) != 0 || !strings.HasPrefix(v.Mistake, "Prints the answer through a helper") {
		t.Errorf("variant = %+v", v)
	}
	if len(v.Files) != 1 || v.Files[0].Path != "answer.go" || !strings.Contains(v.Files[0].Content, "func theAnswer() int") {
		t.Errorf("Files = %q", v.Files)
	}
	ref := reference(t)
	path, err := v.Overlay(ref, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := readOverlay(t, path)[filepath.Join(ref, "answer.go")]; !ok {
		t.Errorf("the new file answer.go is not in the overlay")
	}
	if got := run(t, ref, path); got != "answer: 41\n" {
		t.Errorf("the variant printed %q, want the reference's output", got)
	}

	for _, tc := range []struct{ dir, want string }{
		{"testdata/bad-variants/declares-fails", "field fails not found"},
		{"testdata/bad-variants/no-approach", "approach is missing"},
		{"testdata/bad/neither", "a mutant needs mutant.yaml, a harmless variant variant.yaml"},
	} {
		if _, err := Load(tc.dir); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Load(%s) = %v, want an error saying %q", tc.dir, err, tc.want)
		} else if !strings.HasPrefix(err.Error(), tc.dir) {
			t.Errorf("error %q does not name the directory or file", err)
		}
	}
}
