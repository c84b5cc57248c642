// Package mutant loads the variants of a reference solution that the
// selftest grades: mutants, small plausible mistakes that must fail the
// criteria they declare, and harmless variants, other correct solutions that
// must keep full marks. Both are exact text edits over the reference's files
// (plus whole files, where a variant does something differently enough), built
// with `go build -overlay`, so the reference is never copied.
package mutant

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// FileName is the definition file in each mutant directory; VariantFileName
// the one in each harmless variant's directory.
const (
	FileName        = "mutant.yaml"
	VariantFileName = "variant.yaml"
)

// Mutant is one variant of a reference solution: a mistake (Fails lists what
// it must fail) or, when Variant is set, another correct solution (it must
// fail nothing).
type Mutant struct {
	Name    string `yaml:"-"` // the directory name
	Dir     string `yaml:"-"`
	Variant bool   `yaml:"-"` // a harmless variant (variant.yaml), not a mistake
	// Mistake says what a mutant gets wrong; for a variant, how it differs
	// from the reference and why that is still correct.
	Mistake string   `yaml:"mistake"`
	Fails   []string `yaml:"fails"` // criterion ids, or "*" for every criterion
	// Because maps a criterion id (or "*": every failing criterion) to text its
	// evidence must contain: the mutant must fail for the right reason.
	Because map[string]string `yaml:"because"`
	Edits   []Edit            `yaml:"edits"`
	Files   []File            `yaml:"files"`
}

// variantFile is what variant.yaml may hold: no fails, no because.
type variantFile struct {
	Approach string `yaml:"approach"`
	Edits    []Edit `yaml:"edits"`
	Files    []File `yaml:"files"`
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

// File is a whole file of the variant: a new file, or one that replaces the
// reference's file of that name. Path is relative to the reference.
type File struct {
	Path    string `yaml:"path"`
	Content string `yaml:"content"`
}

// Load reads dir/mutant.yaml or, for a harmless variant, dir/variant.yaml.
// Errors name the file and line.
func Load(dir string) (*Mutant, error) {
	m := &Mutant{Name: filepath.Base(dir), Dir: dir}
	path := filepath.Join(dir, FileName)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		variantPath := filepath.Join(dir, VariantFileName)
		if data, err = os.ReadFile(variantPath); err == nil {
			path, m.Variant = variantPath, true
		} else if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s: %w (a mutant needs %s, a harmless variant %s)", dir, fs.ErrNotExist, FileName, VariantFileName)
		}
	}
	if err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var problems []string
	if m.Variant {
		var v variantFile
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		m.Mistake, m.Edits, m.Files = v.Approach, v.Edits, v.Files
		if strings.TrimSpace(m.Mistake) == "" {
			problems = append(problems, "approach is missing: say how the variant differs and why it is still correct")
		}
	} else {
		if err := dec.Decode(m); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if strings.TrimSpace(m.Mistake) == "" {
			problems = append(problems, "mistake is missing")
		}
		if len(m.Fails) == 0 {
			problems = append(problems, "fails lists no criterion: a mutant must declare what it breaks")
		}
	}
	if len(m.Edits) == 0 && len(m.Files) == 0 {
		problems = append(problems, "edits is empty: the mutant would be the reference")
	}
	for i, e := range m.Edits {
		if e.File == "" || e.Find == "" {
			problems = append(problems, fmt.Sprintf("edit %d needs file and find", i+1))
		}
	}
	for i, f := range m.Files {
		if f.Path == "" || filepath.IsAbs(f.Path) || strings.HasPrefix(filepath.Clean(filepath.FromSlash(f.Path)), "..") {
			problems = append(problems, fmt.Sprintf("file %d needs a path inside the reference", i+1))
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

// Overlay writes the whole files, then applies the edits to copies of the
// reference files, under work, and writes a `go build -overlay` file mapping
// each reference file (or new file) to its copy.
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
	edited, err := m.edited(ref)
	if err != nil {
		return "", err
	}
	overlay := struct{ Replace map[string]string }{Replace: map[string]string{}}
	for rel, text := range edited {
		copyPath := filepath.Join(work, "mutant-"+m.Name, rel)
		if err := os.MkdirAll(filepath.Dir(copyPath), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(copyPath, []byte(text), 0o644); err != nil {
			return "", err
		}
		overlay.Replace[filepath.Join(ref, rel)] = copyPath
	}
	data, err := json.Marshal(overlay)
	if err != nil {
		return "", err
	}
	path := filepath.Join(work, "overlay-"+m.Name+".json")
	return path, os.WriteFile(path, data, 0o644)
}

// Apply writes the mutant into dst, a copy of reference: each file it replaces
// or edits is written there in full, as a student's submission would hold it.
func (m *Mutant) Apply(reference, dst string) error {
	edited, err := m.edited(reference)
	if err != nil {
		return err
	}
	for rel, text := range edited {
		path := filepath.Join(dst, rel)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// edited maps each file the mutant changes, relative to reference, to its
// text: the whole files as given, then the edits applied to the reference's.
func (m *Mutant) edited(reference string) (map[string]string, error) {
	edited := map[string]string{}
	for _, f := range m.Files {
		edited[filepath.FromSlash(f.Path)] = f.Content
	}
	for i, e := range m.Edits {
		rel := filepath.FromSlash(e.File)
		text, ok := edited[rel]
		if !ok {
			data, err := os.ReadFile(filepath.Join(reference, rel))
			if err != nil {
				return nil, fmt.Errorf("mutant %s, edit %d: %w", m.Name, i+1, err)
			}
			text = string(data)
		}
		if n := strings.Count(text, e.Find); n != 1 {
			return nil, fmt.Errorf("mutant %s, edit %d: the find text occurs %d times in %s, want exactly once (has the reference changed?)", m.Name, i+1, n, e.File)
		}
		edited[rel] = strings.Replace(text, e.Find, e.Replace, 1)
	}
	return edited, nil
}
