package report

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestJSONRoundTrip(t *testing.T) {
	want := sampleReport()
	var b bytes.Buffer
	if err := WriteJSON(&b, want); err != nil {
		t.Fatal(err)
	}
	got, err := ReadJSON(&b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("round trip changed the report\n got: %+v\nwant: %+v", got, want)
	}
}

func TestWriteJSONStampsSchemaWithoutModifyingReport(t *testing.T) {
	r := sampleReport()
	r.Schema = ""
	var b bytes.Buffer
	if err := WriteJSON(&b, r); err != nil {
		t.Fatal(err)
	}
	if r.Schema != "" {
		t.Errorf("WriteJSON modified the report's schema to %q", r.Schema)
	}
	if !strings.Contains(b.String(), `"schema": "`+SchemaVersion+`"`) {
		t.Errorf("output lacks the schema version:\n%s", b.String())
	}
}

func TestWriteJSONListsAreNeverNull(t *testing.T) {
	r := &Report{Cases: []Case{{Slug: "01-backlog"}}}
	var b bytes.Buffer
	if err := WriteJSON(&b, r); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "null") {
		t.Errorf("output has null lists:\n%s", b.String())
	}
	for _, key := range []string{`"cases": [`, `"criteria": []`, `"completed_artifacts": []`, `"requirements": []`} {
		if !strings.Contains(b.String(), key) {
			t.Errorf("output lacks %s:\n%s", key, b.String())
		}
	}
}

func TestReadJSONRejectsOtherSchemas(t *testing.T) {
	for _, tc := range []struct {
		name, doc, mention string
	}{
		{"newer version", `{"schema": "wirelab.report/v2", "cases": []}`, `"wirelab.report/v2"`},
		{"missing", `{"cases": []}`, `no "schema" field`},
		{"another tool", `{"schema": "junit"}`, `"junit"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadJSON(strings.NewReader(tc.doc))
			if !errors.Is(err, ErrSchemaVersion) {
				t.Fatalf("err = %v, want ErrSchemaVersion", err)
			}
			for _, s := range []string{tc.mention, SchemaVersion} {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %s", err, s)
				}
			}
		})
	}
}

func TestReadJSONRejectsBadInput(t *testing.T) {
	for name, doc := range map[string]string{
		"not JSON":       `wirelab`,
		"trailing data":  `{"schema": "wirelab.report/v1"} {}`,
		"wrong type":     `{"schema": "wirelab.report/v1", "points": "ten"}`,
		"unknown status": `{"schema": "wirelab.report/v1", "cases": [{"slug": "01-backlog", "criteria": [{"id": "backlog.x", "status": "flaky"}]}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := ReadJSON(strings.NewReader(doc)); err == nil {
				t.Error("ReadJSON accepted it")
			} else if errors.Is(err, ErrSchemaVersion) {
				t.Errorf("err = %v, a schema version error for a v1 document", err)
			}
		})
	}
}

func TestReadJSONIgnoresUnknownFields(t *testing.T) {
	doc := `{"schema": "wirelab.report/v1", "seed": 7, "added_in_a_later_v1": {"x": 1}}`
	r, err := ReadJSON(strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	if r.Seed != 7 {
		t.Errorf("seed = %d, want 7", r.Seed)
	}
}
