package rubric

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

var (
	slugPattern = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)
	// idPattern is <prefix>.<name>: lowercase letters, digits and dashes on either side.
	idPattern = regexp.MustCompile(`^([a-z0-9]+(?:-[a-z0-9]+)*)\.[a-z0-9]+(-[a-z0-9]+)*$`)
)

// LoadCase reads and validates a case rubric. A validation error is a Problems
// listing every problem found in the file.
func LoadCase(path string) (*Case, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("rubric: %w", err)
	}
	return ParseCase(path, data)
}

// LoadModule reads and validates the module's completion standard.
func LoadModule(path string) (*Module, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("rubric: %w", err)
	}
	return ParseModule(path, data)
}

// ParseCase validates a case rubric held in memory (e.g. embedded); file names it in messages.
func ParseCase(file string, data []byte) (*Case, error) {
	l := &loader{file: file}
	root := l.document(data, "a case rubric (case, title, total, criteria, ...)")
	if root == nil {
		return nil, l.problems
	}
	f := l.fields(root, "the rubric", "case", "title", "total", "due", "criteria", "artifact")
	c := &Case{File: file}

	if slug, ok := f.text("case", true); ok {
		if !slugPattern.MatchString(slug) {
			l.add(f.line("case"), "case %q must be lowercase letters, digits and dashes, like 01-backlog", slug)
		}
		c.Slug = slug
	}
	c.Title, _ = f.text("title", true)
	total, pointsOK := f.number("total")
	if pointsOK && total <= 0 {
		l.add(f.line("total"), "total must be more than 0, got %d", total)
	}
	c.Total = total
	dueGiven := f.has("due")
	if due, ok := f.text("due", false); ok && dueGiven {
		t, err := time.Parse(time.RFC3339, due)
		if err != nil {
			l.add(f.line("due"), "due %q is not an RFC 3339 time like 2026-05-01T23:59:00Z", due)
		}
		c.Due = t
	}

	items, ok := f.list("criteria", true)
	if ok && len(items) == 0 {
		l.add(f.line("criteria"), "criteria lists no criterion; a case needs at least one")
	}
	pointsOK = pointsOK && len(items) > 0
	c.criteriaLine = f.line("criteria")
	sum := 0
	firstID := map[string]int{}
	prefix, prefixLine := "", 0
	for _, n := range items {
		cr, ok := l.criterion(n, dueGiven)
		pointsOK = pointsOK && ok
		sum += cr.Points
		if cr.ID != "" {
			if at, dup := firstID[cr.ID]; dup {
				l.add(cr.Line, "criterion id %q is used twice (first at line %d)", cr.ID, at)
			} else {
				firstID[cr.ID] = cr.Line
			}
			if m := idPattern.FindStringSubmatch(cr.ID); m != nil {
				if prefix == "" {
					prefix, prefixLine = m[1], cr.Line
				} else if m[1] != prefix {
					l.add(cr.Line, "criterion id %q has prefix %q, but the first criterion (line %d) uses %q; all criteria of a case share one prefix", cr.ID, m[1], prefixLine, prefix)
				}
			}
		}
		c.Criteria = append(c.Criteria, cr)
	}

	if f.has("artifact") {
		a, ok := l.artifact(f.vals["artifact"])
		pointsOK = pointsOK && ok
		sum += a.Points
		c.Artifact = a
	}
	if pointsOK && total > 0 && sum != total {
		artifact := 0
		if c.Artifact != nil {
			artifact = c.Artifact.Points
		}
		l.add(f.line("total"), "total is %d, but the criteria's points (%d) plus the artifact's (%d) add up to %d", total, sum-artifact, artifact, sum)
	}
	if len(l.problems) > 0 {
		return nil, l.problems.sorted()
	}
	return c, nil
}

// criterion reads one entry of criteria. ok is false when its points are unusable.
func (l *loader) criterion(n *yaml.Node, dueGiven bool) (Criterion, bool) {
	f := l.fields(n, named("criterion", n), "id", "title", "points", "visibility", "concept", "hint")
	cr := Criterion{Line: n.Line}
	if id, ok := f.text("id", true); ok {
		cr.ID = id
		if !idPattern.MatchString(id) {
			l.add(f.line("id"), "criterion id %q must be <prefix>.<name> in lowercase letters, digits and dashes, like backlog.sheds-load", id)
		}
	}
	cr.Title, _ = f.text("title", true)
	points, ok := f.number("points")
	if ok && points <= 0 {
		l.add(f.line("points"), "points of %s must be more than 0, got %d", f.what, points)
		ok = false
	}
	cr.Points = points
	if v, present := f.text("visibility", true); present {
		cr.Visibility = Visibility(v)
		switch cr.Visibility {
		case Visible, Hidden:
		case AfterDueDate:
			if !dueGiven {
				l.add(f.line("visibility"), "%s is visible after_due_date, but the rubric has no due time; add due: (RFC 3339) at the top", f.what)
			}
		default:
			l.add(f.line("visibility"), "visibility %q of %s is not one of visible, hidden, after_due_date", v, f.what)
		}
	}
	cr.Concept, _ = f.text("concept", false)
	cr.Hint, _ = f.text("hint", true)
	return cr, ok && !f.broken
}

// artifact reads the artifact mapping. ok is false when its points are unusable.
func (l *loader) artifact(n *yaml.Node) (*Artifact, bool) {
	f := l.fields(n, "the artifact", "file", "check", "points", "tags_when_valid")
	a := &Artifact{Line: n.Line}
	if file, ok := f.text("file", true); ok {
		if !filepath.IsLocal(file) {
			l.add(f.line("file"), "artifact file %q must be a path inside the case's directory, like handshake.md", file)
		}
		a.File = file
	}
	a.Check, _ = f.text("check", true)
	points, ok := f.number("points")
	if ok && points <= 0 {
		l.add(f.line("points"), "points of the artifact must be more than 0, got %d", points)
		ok = false
	}
	a.Points = points
	a.TagsWhenValid = l.tags(f, "tags_when_valid")
	return a, ok && !f.broken
}

// ParseModule validates a completion standard held in memory; file names it in messages.
func ParseModule(file string, data []byte) (*Module, error) {
	l := &loader{file: file}
	root := l.document(data, "a completion standard (completion_standard: a list of requirements)")
	if root == nil {
		return nil, l.problems
	}
	f := l.fields(root, "the module rubric", "completion_standard")
	m := &Module{File: file}
	items, ok := f.list("completion_standard", true)
	if ok && len(items) == 0 {
		l.add(f.line("completion_standard"), "completion_standard lists no requirement")
	}
	firstID := map[string]int{}
	for _, n := range items {
		rf := l.fields(n, named("requirement", n), "id", "text", "min_artifacts", "any_tag", "hint")
		r := Requirement{Line: n.Line}
		if id, ok := rf.text("id", true); ok {
			r.ID = id
			if !slugPattern.MatchString(id) {
				l.add(rf.line("id"), "requirement id %q must be lowercase letters, digits and dashes, like three-artifacts", id)
			}
			if at, dup := firstID[id]; dup {
				l.add(r.Line, "requirement id %q is used twice (first at line %d)", id, at)
			} else {
				firstID[id] = r.Line
			}
		}
		r.Text, _ = rf.text("text", true)
		if min, ok := rf.number("min_artifacts"); ok {
			if min < 1 {
				l.add(rf.line("min_artifacts"), "min_artifacts of %s must be at least 1, got %d", rf.what, min)
			}
			r.MinArtifacts = min
		}
		r.AnyTag = l.tags(rf, "any_tag")
		r.Hint, _ = rf.text("hint", false)
		m.Requirements = append(m.Requirements, r)
	}
	if len(l.problems) > 0 {
		return nil, l.problems.sorted()
	}
	return m, nil
}

// tags reads an optional, non-empty list of tags.
func (l *loader) tags(f *fields, key string) []string {
	tags, ok := f.texts(key)
	if !ok || !f.has(key) {
		return nil
	}
	if len(tags) == 0 {
		l.add(f.line(key), "%s of %s is an empty list; list at least one tag or leave the key out", key, f.what)
	}
	for _, t := range tags {
		if !slugPattern.MatchString(t) {
			l.add(f.line(key), "tag %q in %s must be lowercase letters, digits and dashes, like tcp-handshake", t, key)
		}
	}
	return tags
}

// loader collects the problems of one file.
type loader struct {
	file     string
	problems Problems
}

func (l *loader) add(line int, format string, args ...any) {
	l.problems = append(l.problems, Problem{File: l.file, Line: line, Message: fmt.Sprintf(format, args...)})
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// document parses data as exactly one YAML document and returns its root, or nil
// (with a problem) when the file is empty or malformed. want describes the content.
func (l *loader) document(data []byte, want string) *yaml.Node {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			l.add(1, "the file is empty; it should hold %s", want)
		} else {
			l.yamlError(data, err)
		}
		return nil
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		l.add(extra.Line, "a second YAML document starts here; a rubric file holds one document")
	case !errors.Is(err, io.EOF):
		l.yamlError(data, err)
	}
	if len(doc.Content) == 0 {
		l.add(1, "the file is empty; it should hold %s", want)
		return nil
	}
	root := resolve(doc.Content[0])
	if root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null" {
		l.add(root.Line, "the file is empty; it should hold %s", want)
		return nil
	}
	return root
}

// yamlError turns a YAML syntax error into a problem at YAML's own line. YAML leaves
// the line out for some errors on the first line and for a few others; those are
// placed where they can be found, else on line 1.
func (l *loader) yamlError(data []byte, err error) {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		l.add(line, "malformed YAML: %s", m[2])
		return
	}
	msg = strings.TrimPrefix(msg, "yaml: ")
	line := 1
	var anchor string
	if _, scanErr := fmt.Sscanf(msg, "unknown anchor %s referenced", &anchor); scanErr == nil {
		line = lineOf(data, "*"+strings.Trim(anchor, "'"))
	} else if strings.Contains(msg, "control characters") {
		line = lineWhere(data, func(b byte) bool { return b < 0x20 && b != '\n' && b != '\r' && b != '\t' })
	}
	l.add(line, "malformed YAML: %s", msg)
}

// lineOf is the 1-based line of the first occurrence of s in data, or 1.
func lineOf(data []byte, s string) int {
	i := bytes.Index(data, []byte(s))
	if i < 0 {
		return 1
	}
	return bytes.Count(data[:i], []byte("\n")) + 1
}

// lineWhere is the 1-based line of the first byte matching bad, or 1.
func lineWhere(data []byte, bad func(byte) bool) int {
	for i, b := range data {
		if bad(b) {
			return bytes.Count(data[:i], []byte("\n")) + 1
		}
	}
	return 1
}

// named is what messages call a list entry: its kind and, when it has one, its id.
func named(kind string, n *yaml.Node) string {
	n = resolve(n)
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if k, v := n.Content[i], resolve(n.Content[i+1]); k.Value == "id" && v.Kind == yaml.ScalarNode && strings.TrimSpace(v.Value) != "" {
				return kind + " " + v.Value
			}
		}
	}
	return kind
}

// resolve follows an alias to the node it names.
func resolve(n *yaml.Node) *yaml.Node {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		return n.Alias
	}
	return n
}

// describe names what a node holds, for "got ..." in messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.ShortTag() == "!!null" {
			return "nothing"
		}
		return strconv.Quote(n.Value)
	}
	return "something else"
}

// fields is one YAML mapping checked against the keys it may hold. Its getters add
// a problem for a missing required key or a value of the wrong kind. A broken
// fields (the node was not a mapping) yields zero values without further problems.
type fields struct {
	l      *loader
	what   string // "criterion backlog.serves", for messages
	node   *yaml.Node
	vals   map[string]*yaml.Node
	broken bool
}

func (l *loader) fields(n *yaml.Node, what string, known ...string) *fields {
	n = resolve(n)
	f := &fields{l: l, what: what, node: n, vals: map[string]*yaml.Node{}}
	if n.Kind != yaml.MappingNode {
		l.add(n.Line, "%s must be a mapping with keys %s; got %s", what, strings.Join(known, ", "), describe(n))
		f.broken = true
		return f
	}
	keyLine := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolve(n.Content[i+1])
		if k.Kind != yaml.ScalarNode {
			l.add(k.Line, "%s has a key that is %s; keys are plain names", what, describe(k))
			continue
		}
		if first, dup := keyLine[k.Value]; dup {
			l.add(k.Line, "key %q appears twice in %s (first at line %d)", k.Value, what, first)
			continue
		}
		keyLine[k.Value] = k.Line
		if !slices.Contains(known, k.Value) {
			l.add(k.Line, "unknown key %q in %s (known keys: %s)", k.Value, what, strings.Join(known, ", "))
			continue
		}
		f.vals[k.Value] = v
	}
	return f
}

func (f *fields) has(key string) bool {
	_, ok := f.vals[key]
	return ok
}

// line is the line of key's value, or of the mapping when the key is absent.
func (f *fields) line(key string) int {
	if v, ok := f.vals[key]; ok {
		return v.Line
	}
	return f.node.Line
}

// present reports whether key is there, adding a problem when it is required and absent.
func (f *fields) present(key string, required bool) (*yaml.Node, bool) {
	if f.broken {
		return nil, false
	}
	v, ok := f.vals[key]
	if !ok && required {
		f.l.add(f.node.Line, "%s is missing required key %q", f.what, key)
	}
	return v, ok
}

// text reads a non-empty text value. ok is false when it is absent or unusable.
func (f *fields) text(key string, required bool) (string, bool) {
	v, ok := f.present(key, required)
	if !ok {
		return "", false
	}
	if v.Kind != yaml.ScalarNode {
		f.l.add(v.Line, "%s of %s must be text; got %s", key, f.what, describe(v))
		return "", false
	}
	if v.ShortTag() == "!!null" || strings.TrimSpace(v.Value) == "" {
		if required {
			f.l.add(v.Line, "%s of %s is empty", key, f.what)
		} else {
			f.l.add(v.Line, "%s of %s is empty; give it a value or leave the key out", key, f.what)
		}
		return "", false
	}
	return v.Value, true
}

// number reads a required whole number.
func (f *fields) number(key string) (int, bool) {
	v, ok := f.present(key, true)
	if !ok {
		return 0, false
	}
	var n int
	if v.Kind != yaml.ScalarNode || v.ShortTag() != "!!int" || v.Decode(&n) != nil {
		f.l.add(v.Line, "%s of %s must be a whole number; got %s", key, f.what, describe(v))
		return 0, false
	}
	return n, true
}

// list reads a list of nodes.
func (f *fields) list(key string, required bool) ([]*yaml.Node, bool) {
	v, ok := f.present(key, required)
	if !ok {
		return nil, false
	}
	if v.Kind != yaml.SequenceNode {
		f.l.add(v.Line, "%s of %s must be a list; got %s", key, f.what, describe(v))
		return nil, false
	}
	return v.Content, true
}

// texts reads an optional list of text values, like [a, b].
func (f *fields) texts(key string) ([]string, bool) {
	items, ok := f.list(key, false)
	if !ok {
		return nil, false
	}
	out := make([]string, 0, len(items))
	good := true
	for _, it := range items {
		it = resolve(it)
		if it.Kind != yaml.ScalarNode || it.ShortTag() == "!!null" || strings.TrimSpace(it.Value) == "" {
			f.l.add(it.Line, "%s of %s must list text values; got %s", key, f.what, describe(it))
			good = false
			continue
		}
		out = append(out, it.Value)
	}
	return out, good
}
