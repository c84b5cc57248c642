package report

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// WriteJUnit writes r as JUnit XML: one <testsuite> per case and one <testcase> per
// criterion (classname = case slug, name = "id: title"), plus one <testcase> for the case's
// artifact ("artifact: FILE"). Failed criteria carry <failure> with the evidence and the
// hint, skipped ones <skipped> with the reason, grading errors <error>. Each suite has the
// properties seed, points, max_points and title (and problem, when the case has one).
func WriteJUnit(w io.Writer, r *Report) error {
	if r == nil {
		return errors.New("report: write JUnit: nil report")
	}
	doc := junitSuites{
		Name: "wirelab",
		Time: junitTime(r.Duration),
	}
	for i := range r.Cases {
		s := junitSuiteOf(r, &r.Cases[i])
		doc.Tests += s.Tests
		doc.Failures += s.Failures
		doc.Errors += s.Errors
		doc.Skipped += s.Skipped
		doc.Suites = append(doc.Suites, s)
	}
	out, err := xml.MarshalIndent(doc, "", "  ")
	if err != nil {
		return fmt.Errorf("report: write JUnit: %w", err)
	}
	if _, err := io.WriteString(w, xml.Header+string(out)+"\n"); err != nil {
		return fmt.Errorf("report: write JUnit: %w", err)
	}
	return nil
}

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr,omitempty"`
	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitCase     `xml:"testcase"`
	SystemErr  *junitText      `xml:"system-err,omitempty"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Classname string       `xml:"classname,attr"`
	Name      string       `xml:"name,attr"`
	Time      string       `xml:"time,attr"`
	Failure   *junitResult `xml:"failure,omitempty"`
	Error     *junitResult `xml:"error,omitempty"`
	Skipped   *junitResult `xml:"skipped,omitempty"`
	SystemOut *junitText   `xml:"system-out,omitempty"`
}

type junitResult struct {
	Message string `xml:"message,attr,omitempty"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",cdata"`
}

type junitText struct {
	Text string `xml:",cdata"`
}

func junitSuiteOf(r *Report, cs *Case) junitSuite {
	s := junitSuite{
		Name: xmlSafe(cs.Slug),
		Time: junitTime(cs.Duration),
		Properties: []junitProperty{
			{Name: "seed", Value: strconv.FormatInt(r.Seed, 10)},
			{Name: "points", Value: strconv.Itoa(cs.Points)},
			{Name: "max_points", Value: strconv.Itoa(cs.MaxPoints)},
			{Name: "title", Value: xmlSafe(cs.Title)},
		},
	}
	if !r.StartedAt.IsZero() {
		s.Timestamp = r.StartedAt.UTC().Format(time.RFC3339)
	}
	if cs.Problem != "" {
		s.Properties = append(s.Properties, junitProperty{Name: "problem", Value: xmlSafe(firstLine(cs.Problem))})
		s.SystemErr = &junitText{Text: xmlSafe(cs.Problem)}
	}
	for i := range cs.Criteria {
		s.Cases = append(s.Cases, junitCaseOf(cs, &cs.Criteria[i]))
	}
	if cs.Artifact != nil {
		s.Cases = append(s.Cases, junitArtifactCase(cs))
	}
	for _, tc := range s.Cases {
		s.Tests++
		switch {
		case tc.Failure != nil:
			s.Failures++
		case tc.Error != nil:
			s.Errors++
		case tc.Skipped != nil:
			s.Skipped++
		}
	}
	return s
}

func junitCaseOf(cs *Case, c *Criterion) junitCase {
	tc := junitCase{
		Classname: xmlSafe(cs.Slug),
		Name:      xmlSafe(c.ID + ": " + c.Title),
		Time:      junitTime(c.Duration),
	}
	msg := xmlSafe(headline(cs, c))
	var body string
	if !c.Redacted {
		body = evidenceText(c.Evidence)
		if len(c.Evidence) == 0 && cs.Problem != "" && c.Status != Passed {
			body = "Not run because of a problem with this case:\n" + strings.TrimRight(cs.Problem, "\n") + "\n"
		}
		if c.Status == Failed {
			if c.Concept != "" {
				body += "\nConcept: " + c.Concept + "\n"
			}
			if c.Hint != "" {
				body += "Hint: " + c.Hint + "\n"
			}
		}
	}
	body = xmlSafe(body)
	tc.setOutcome(c.Status, msg, body)
	return tc
}

func junitArtifactCase(cs *Case) junitCase {
	a := cs.Artifact
	tc := junitCase{
		Classname: xmlSafe(cs.Slug),
		Name:      xmlSafe("artifact: " + a.File),
		Time:      junitTime(0),
	}
	msg := xmlSafe(artifactHeadline(a))
	body := findingsText(a)
	if len(a.Tags) > 0 {
		body += "Tags earned: " + strings.Join(a.Tags, ", ") + "\n"
	}
	body = xmlSafe(body)
	tc.setOutcome(a.Status, msg, body)
	return tc
}

// junitTime is a duration in seconds with millisecond precision, as JUnit readers expect.
func junitTime(s Seconds) string {
	return strconv.FormatFloat(float64(s), 'f', 3, 64)
}

// xmlSafe replaces what XML 1.0 cannot carry (invalid UTF-8, most control characters, such
// as a student program's terminal escapes) with U+FFFD. CDATA sections are not escaped by
// encoding/xml, so text must be made safe before it goes there.
func xmlSafe(s string) string {
	ok := func(r rune) bool {
		return r == '\t' || r == '\n' || r == '\r' ||
			(r >= 0x20 && r <= 0xD7FF) || (r >= 0xE000 && r <= 0xFFFD) || (r >= 0x10000 && r <= 0x10FFFF)
	}
	clean := true
	for _, r := range s {
		if r == utf8.RuneError || !ok(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if !ok(r) {
			r = utf8.RuneError
		}
		b.WriteRune(r)
	}
	return b.String()
}

// setOutcome records a status on the test case the way JUnit readers expect:
// a failure, a skip or an error with the headline and the body; a pass with
// its body (evidence, tags) as the case's output.
func (tc *junitCase) setOutcome(status Status, msg, body string) {
	switch status {
	case Passed:
		if body != "" {
			tc.SystemOut = &junitText{Text: body}
		}
	case Failed:
		tc.Failure = &junitResult{Message: msg, Type: "failed", Text: body}
	case Skipped:
		tc.Skipped = &junitResult{Message: msg, Text: body}
	case Error:
		tc.Error = &junitResult{Message: msg, Type: "error", Text: body}
	default:
		tc.Error = &junitResult{Message: xmlSafe(fmt.Sprintf("unknown status %q", status)), Type: "error", Text: body}
	}
}
