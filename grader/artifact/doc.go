// Package artifact reads the written artifacts of the case studies (Markdown files with
// Mermaid diagrams) and checks them.
//
// It is layered so that a new check reuses what exists:
//
//   - markdown.go splits a Markdown file into fenced code blocks and prose, keeping the
//     1-based line number of every line so findings point at the student's file.
//   - mermaid.go tells which kind of diagram a ```mermaid block holds; sequence.go parses
//     the sequenceDiagram subset people write. Parsers report what they cannot read as
//     findings, never by panicking.
//   - check.go is the registry the rubric's "check:" names resolve against; each check
//     lives in its own file (handshake.go: case 01's handshake-sequence), with the words
//     it recognises kept apart (handshake_terms.go, text.go).
//
// Findings are written for students: what is missing or wrong, where, and the concept of
// the case study that explains why it matters.
package artifact
