package report

import (
	"bytes"
	"encoding/xml"
	"strings"
	"testing"
)

// Decoding types independent of the writer's, so the test checks the XML, not the structs.
type junitDoc struct {
	Tests    int `xml:"tests,attr"`
	Failures int `xml:"failures,attr"`
	Errors   int `xml:"errors,attr"`
	Skipped  int `xml:"skipped,attr"`
	Suites   []struct {
		Name       string `xml:"name,attr"`
		Tests      int    `xml:"tests,attr"`
		Failures   int    `xml:"failures,attr"`
		Errors     int    `xml:"errors,attr"`
		Skipped    int    `xml:"skipped,attr"`
		Properties []struct {
			Name  string `xml:"name,attr"`
			Value string `xml:"value,attr"`
		} `xml:"properties>property"`
		Cases []struct {
			Classname string `xml:"classname,attr"`
			Name      string `xml:"name,attr"`
			Failure   *struct {
				Message string `xml:"message,attr"`
				Text    string `xml:",chardata"`
			} `xml:"failure"`
			Error *struct {
				Message string `xml:"message,attr"`
			} `xml:"error"`
			Skipped *struct {
				Message string `xml:"message,attr"`
			} `xml:"skipped"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

func decodeJUnit(t *testing.T, r *Report) junitDoc {
	t.Helper()
	var b bytes.Buffer
	if err := WriteJUnit(&b, r); err != nil {
		t.Fatal(err)
	}
	var doc junitDoc
	if err := xml.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatalf("output is not XML: %v\n%s", err, b.String())
	}
	return doc
}

func TestJUnitCounts(t *testing.T) {
	doc := decodeJUnit(t, sampleReport())
	if got, want := [4]int{doc.Tests, doc.Failures, doc.Errors, doc.Skipped}, [4]int{10, 6, 1, 1}; got != want {
		t.Errorf("testsuites tests/failures/errors/skipped = %v, want %v", got, want)
	}
	if len(doc.Suites) != 2 {
		t.Fatalf("%d suites, want one per case (2)", len(doc.Suites))
	}
	want := map[string][4]int{
		"01-backlog":     {6, 3, 1, 1}, // 5 criteria + artifact; sheds-load, accounting, artifact failed
		"05-server-arch": {4, 3, 0, 0}, // 3 criteria (all failed) + artifact
	}
	for _, s := range doc.Suites {
		if got := [4]int{s.Tests, s.Failures, s.Errors, s.Skipped}; got != want[s.Name] {
			t.Errorf("suite %s tests/failures/errors/skipped = %v, want %v", s.Name, got, want[s.Name])
		}
		// The attributes agree with the elements.
		var counted [4]int
		for _, c := range s.Cases {
			counted[0]++
			if c.Failure != nil {
				counted[1]++
			}
			if c.Error != nil {
				counted[2]++
			}
			if c.Skipped != nil {
				counted[3]++
			}
			if c.Classname != s.Name {
				t.Errorf("testcase %q has classname %q, want the case slug %q", c.Name, c.Classname, s.Name)
			}
		}
		if counted != [4]int{s.Tests, s.Failures, s.Errors, s.Skipped} {
			t.Errorf("suite %s: elements count %v, attributes say %v", s.Name, counted, [4]int{s.Tests, s.Failures, s.Errors, s.Skipped})
		}
		props := map[string]string{}
		for _, p := range s.Properties {
			props[p.Name] = p.Value
		}
		if props["seed"] != "1234567" || props["points"] == "" {
			t.Errorf("suite %s properties = %v, want seed and points", s.Name, props)
		}
	}
}

func TestJUnitContent(t *testing.T) {
	doc := decodeJUnit(t, sampleReport())
	backlog := doc.Suites[0]
	names := map[string]bool{}
	for _, c := range backlog.Cases {
		names[c.Name] = true
	}
	for _, n := range []string{
		"backlog.sheds-load: Sheds load with BUSY before the accept queue overflows",
		"artifact: handshake.md",
	} {
		if !names[n] {
			t.Errorf("no testcase named %q in %v", n, names)
		}
	}
	shed := backlog.Cases[1].Failure
	if shed == nil {
		t.Fatal("backlog.sheds-load has no <failure>")
	}
	for _, s := range []string{"TcpExtListenOverflows   0 -> 37", "p99 3.02s", "Hint: Answer BUSY"} {
		if !strings.Contains(shed.Text, s) {
			t.Errorf("failure text lacks %q:\n%s", s, shed.Text)
		}
	}
	if sk := backlog.Cases[2].Skipped; sk == nil || !strings.Contains(sk.Message, "/dev/net/tun") {
		t.Errorf("skipped testcase does not give the reason: %+v", sk)
	}
	if hidden := backlog.Cases[4].Failure; hidden == nil || hidden.Message != "details hidden until the due date" || hidden.Text != "" {
		t.Errorf("redacted criterion: %+v", hidden)
	}
}

func TestJUnitSurvivesControlCharacters(t *testing.T) {
	r := sampleReport()
	r.Cases[0].Criteria[1].Evidence = []Evidence{{Name: "server stderr", Text: "\x1b[31mpanic\x1b[0m: ]]> \x00 done"}}
	doc := decodeJUnit(t, r)
	if txt := doc.Suites[0].Cases[1].Failure.Text; !strings.Contains(txt, "]]>") || !strings.Contains(txt, "panic") {
		t.Errorf("evidence lost: %q", txt)
	}
}
