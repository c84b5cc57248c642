// Package mutant loads the deliberately broken variants of a reference
// solution. A mutant is a small plausible mistake written as exact text edits
// over the reference's files, plus the criteria it must fail; it is built with
// `go build -overlay`, so the reference is never copied.
package mutant

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// FileName is the definition file in each mutant directory.
const FileName = "mutant.yaml"

// Mutant is one broken variant of a reference solution.
type Mutant struct {
	Name    string   `yaml:"-"` // the directory name
	Dir     string   `yaml:"-"`
	Mistake string   `yaml:"mistake"`
	Fails   []string `yaml:"fails"` // criterion ids, or "*" for every criterion
	// Because maps a criterion id (or "*": every failing criterion) to text its
	// evidence must contain: the mutant must fail for the right reason.
	Because map[string]string `yaml:"because"`
	Edits   []Edit            `yaml:"edits"`
}

// MustFail reports whether the mutant declares that it fails criterion id.
func (m *Mutant) MustFail(id string) bool {
	for _, f := range m.Fails {
		if f == id || f == "*" {
			return true
		}
	}
	return false
}

// Edit replaces the one occurrence of Find in File (relative to the reference).
type Edit struct {
	File    string `yaml:"file"`
	Find    string `yaml:"find"`
	Replace string `yaml:"replace"`
}

// Load reads dir/mutant.yaml. Errors name the file and line.
func Load(dir string) (*Mutant, error) {
	path := filepath.Join(dir, FileName)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	m := &Mutant{Name: filepath.Base(dir), Dir: dir}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(m); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var problems []string
	if strings.TrimSpace(m.Mistake) == "" {
		problems = append(problems, "mistake is missing")
	}
	if len(m.Fails) == 0 {
		problems = append(problems, "fails lists no criterion: a mutant must declare what it breaks")
	}
	if len(m.Edits) == 0 {
		problems = append(problems, "edits is empty: the mutant would be the reference")
	}
	for i, e := range m.Edits {
		if e.File == "" || e.Find == "" {
			problems = append(problems, fmt.Sprintf("edit %d needs file and find", i+1))
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("%s: %s", path, strings.Join(problems, "; "))
	}
	return m, nil
}

// LoadAll loads every mutant under dir (one subdirectory each), sorted by name.
func LoadAll(dir string) ([]*Mutant, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []*Mutant
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		m, err := Load(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Overlay applies the edits to copies of the reference files under work and
// writes a `go build -overlay` file mapping each reference file to its copy.
// It returns the overlay file's path.
func (m *Mutant) Overlay(reference, work string) (string, error) {
	ref, err := filepath.Abs(reference)
	if err != nil {
		return "", err
	}
	// go build reads the overlay's paths from the program's directory, not
	// ours: the copies must be named absolutely.
	if work, err = filepath.Abs(work); err != nil {
		return "", err
	}
	edited := map[string]string{} // reference file → edited text
	for i, e := range m.Edits {
		target := filepath.Join(ref, filepath.FromSlash(e.File))
		text, ok := edited[target]
		if !ok {
			data, err := os.ReadFile(target)
			if err != nil {
				return "", fmt.Errorf("mutant %s, edit %d: %w", m.Name, i+1, err)
			}
			text = string(data)
		}
		if n := strings.Count(text, e.Find); n != 1 {
			return "", fmt.Errorf("mutant %s, edit %d: the find text occurs %d times in %s, want exactly once (has the reference changed?)", m.Name, i+1, n, e.File)
		}
		edited[target] = strings.Replace(text, e.Find, e.Replace, 1)
	}
	overlay := struct{ Replace map[string]string }{Replace: map[string]string{}}
	for target, text := range edited {
		rel, err := filepath.Rel(ref, target)
		if err != nil {
			return "", err
		}
		copyPath := filepath.Join(work, "mutant-"+m.Name, rel)
		if err := os.MkdirAll(filepath.Dir(copyPath), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(copyPath, []byte(text), 0o644); err != nil {
			return "", err
		}
		overlay.Replace[target] = copyPath
	}
	data, err := json.Marshal(overlay)
	if err != nil {
		return "", err
	}
	path := filepath.Join(work, "overlay-"+m.Name+".json")
	return path, os.WriteFile(path, data, 0o644)
}
