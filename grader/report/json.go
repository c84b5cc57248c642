package report

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
)

// ErrSchemaVersion is wrapped by ReadJSON's error when a report is not SchemaVersion.
var ErrSchemaVersion = errors.New("unsupported report schema")

// WriteJSON writes r as indented JSON in schema SchemaVersion (see SCHEMA.md). The schema
// field is always SchemaVersion, lists the schema marks as always present are written as []
// rather than null, and redacted criteria carry no evidence and no hint. r is not modified.
func WriteJSON(w io.Writer, r *Report) error {
	if r == nil {
		return errors.New("report: write JSON: nil report")
	}
	out := withheld(r)
	out.Schema = SchemaVersion
	out.fillLists()
	return writeIndentedJSON(w, "JSON", out)
}

// writeIndentedJSON writes v as JSON indented by two spaces, HTML characters
// unescaped (evidence like "<nil>" or "a && b" stays readable); what names
// the output in an error.
func writeIndentedJSON(w io.Writer, what string, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("report: write %s: %w", what, err)
	}
	return nil
}

// ReadJSON reads a report written by WriteJSON. It rejects a report of another schema
// version (wrapping ErrSchemaVersion) and statuses that schema v1 does not define. Unknown
// fields are ignored: newer v1 writers may add fields.
func ReadJSON(rd io.Reader) (*Report, error) {
	data, err := io.ReadAll(rd)
	if err != nil {
		return nil, fmt.Errorf("report: read JSON: %w", err)
	}
	// The version first, so a future schema gets a version error, not a type error.
	var head struct {
		Schema *string `json:"schema"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, fmt.Errorf("report: read JSON: %w", err)
	}
	switch {
	case head.Schema == nil:
		return nil, fmt.Errorf("report: read JSON: %w: the file has no \"schema\" field; this grader reads %q", ErrSchemaVersion, SchemaVersion)
	case *head.Schema != SchemaVersion:
		return nil, fmt.Errorf("report: read JSON: %w: the file is %q, this grader reads %q; read it with the grader version that wrote it", ErrSchemaVersion, *head.Schema, SchemaVersion)
	}
	var r Report
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("report: read JSON: %w", err)
	}
	if err := r.checkStatuses(); err != nil {
		return nil, fmt.Errorf("report: read JSON: %w", err)
	}
	return &r, nil
}

// fillLists replaces nil lists that schema v1 marks as always present with empty ones.
func (r *Report) fillLists() {
	if r.Cases == nil {
		r.Cases = []Case{}
	}
	for i := range r.Cases {
		if r.Cases[i].Criteria == nil {
			r.Cases[i].Criteria = []Criterion{}
		}
	}
	if r.Completion.Completed == nil {
		r.Completion.Completed = []string{}
	}
	if r.Completion.Requirements == nil {
		r.Completion.Requirements = []Requirement{}
	}
}

// checkStatuses reports the first criterion or artifact whose status schema v1 does not define.
func (r *Report) checkStatuses() error {
	for _, c := range r.Cases {
		for _, cr := range c.Criteria {
			if !cr.Status.Known() {
				return fmt.Errorf("case %s, criterion %s: status %q is not one of passed, failed, skipped, error", c.Slug, cr.ID, cr.Status)
			}
		}
		if c.Artifact != nil && !c.Artifact.Status.Known() {
			return fmt.Errorf("case %s, artifact %s: status %q is not one of passed, failed, skipped, error", c.Slug, c.Artifact.File, c.Artifact.Status)
		}
	}
	return nil
}

// ReadJSONFile reads the report.json at path (see ReadJSON); errors name the file.
func ReadJSONFile(path string) (*Report, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, err := ReadJSON(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}
