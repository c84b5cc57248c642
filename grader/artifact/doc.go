// Package artifact reads the written artifacts of the case studies (Markdown files with
// Mermaid diagrams or tables) and checks them.
//
// It is layered so that a new check reuses what exists:
//
//   - markdown.go splits a Markdown file into fenced code blocks and prose, keeping the
//     1-based line number of every line so findings point at the student's file.
//   - mermaid.go tells which kind of diagram a ```mermaid block holds (and what all
//     Mermaid diagrams share: entity codes, accessibility lines); sequence.go parses the
//     sequenceDiagram subset people write, state.go the stateDiagram-v2 subset. Parsers
//     report what they cannot read as findings, never by panicking.
//   - table.go reads GitHub-flavoured Markdown tables with their line numbers.
//   - check.go is the registry the rubric's "check:" names resolve against, with what
//     every check shares (TODO markers, an empty file); each check lives in its own file
//     (handshake.go: case 01's handshake-sequence; transport.go: case 02's
//     transport-decision, a table per message type; closestates.go: case 03's
//     close-states, with RFC 9293's state machine; holcomparison.go: case 04's
//     hol-comparison, a table of HTTP/1.1, HTTP/2 and HTTP/3 under one lost packet;
//     architecture.go: case 05's architecture, two tables of the three server
//     architectures under idle and CPU-heavy clients, and a recommendation each), with
//     the words it recognises kept apart (handshake_terms.go, closestates_terms.go, text.go).
//
// Findings are written for students: what is missing or wrong, where, and the concept of
// the case study that explains why it matters.
package artifact
