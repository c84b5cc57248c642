package report

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// CommentLimit is GitHub's limit on the body of a pull request comment, in characters.
const CommentLimit = 65536

// CommentMarker opens every pull request comment the grader writes, so that the
// workflow finds its own comment and updates it instead of adding another.
const CommentMarker = "<!-- wirelab-report -->"

// WritePRComment writes r as the body of the one pull request comment the
// classroom workflow keeps up to date: the Markdown report (as WriteMarkdown)
// when it fits in limit characters; otherwise the same without the per-criterion
// details, and a pointer to where the full report is (fullReport, e.g. the
// run's URL); cut at a line if even that does not fit. A limit of 0 means
// CommentLimit.
func WritePRComment(w io.Writer, r *Report, fullReport string, limit int) error {
	if r == nil {
		return errors.New("report: write pull request comment: nil report")
	}
	if limit <= 0 {
		limit = CommentLimit
	}
	var full strings.Builder
	if err := WriteMarkdown(&full, r); err != nil {
		return err
	}
	body := CommentMarker + "\n" + full.String()
	if utf8.RuneCountInString(body) > limit {
		body = compactComment(r, fullReport, utf8.RuneCountInString(full.String()), limit)
	}
	if _, err := io.WriteString(w, body); err != nil {
		return fmt.Errorf("report: write pull request comment: %w", err)
	}
	return nil
}

// compactComment is the comment for a report too long for one: every table,
// no details, the pointer near the top so that a cut never loses it.
func compactComment(r *Report, fullReport string, fullLength, limit int) string {
	var b strings.Builder
	b.WriteString(CommentMarker + "\n")
	mdHeading(&b, r)
	fmt.Fprintf(&b, "> The full report (%d characters, with the evidence and hint of every criterion missed) is longer than a comment can be; it is in %s.\n\n",
		fullLength, fullReport)
	mdCompletion(&b, &r.Completion)
	for i := range r.Cases {
		mdCase(&b, &r.Cases[i], false)
	}
	mdFooter(&b, r)
	s := b.String()
	if utf8.RuneCountInString(s) <= limit {
		return s
	}
	const cut = "\n\n… (cut here: the rest is in the full report)\n"
	keep := limit - utf8.RuneCountInString(cut)
	runes := []rune(s)[:keep]
	if i := strings.LastIndexByte(string(runes), '\n'); i > 0 {
		return string(runes)[:i] + cut
	}
	return string(runes) + cut
}
