package timewait

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"

	"github.com/wirelab/wirelab/grader/lab"
	"github.com/wirelab/wirelab/grader/report"
	"github.com/wirelab/wirelab/grader/suite"
)

var _ = Describe("03-time-wait: sockstat reads /proc trees, and refuses damaged ones", Label(CaseLabel), func() {
	It("reads a /proc tree given with -proc: every state code, both byte orders, IPv4 and IPv6", Label("timewait.sockstat-parsing"), SpecTimeout(lab.Scaled(60*time.Second)), func(ctx SpecContext) {
		tree := seededTree(suite.Rand("parsing/tree"))
		dir := writeTree(tree)
		run := runSockstat(ctx, nil, "-proc", dir)
		doc := requireDocument(run)
		kernel := tree.asSockets()
		suite.Evidence("states", "%s", stateCounts(kernel, doc.States))
		if problems := compareTable(kernel, doc, "in the tree's tables"); len(problems) > 0 {
			suite.Failf("sockstat read the tree in %s wrong: %s. Every row of DIR/net/tcp and DIR/net/tcp6 is a socket: ports are plain hex numbers; an IPv4 address is one 32-bit word and an IPv6 address four, each printed in the machine's byte order (little-endian here: the bytes come out reversed); st is a hex state code from 01 to 0B (Task 1, and the table in the brief).",
				dir, strings.Join(problems, "; "))
		}
	})

	It("refuses damaged input and bad flags: a message naming the file and line, nothing on stdout, no panic", Label("timewait.sockstat-bad-input"), SpecTimeout(lab.Scaled(60*time.Second)), func(ctx SpecContext) {
		r := suite.Rand("bad-input/tree")
		var problems []string
		for _, d := range damages {
			tree := seededTree(r)
			dir := writeTree(tree)
			mention := d.apply(dir, tree)
			run := runSockstat(ctx, nil, "-proc", dir)
			suite.Evidence(d.name, "%s; stdout %q; stderr %q", exitWords(run), report.Clip(run.stdout, 80), report.Clip(run.stderr, 200))
			if p := badInputProblem(run, 1, mention); p != "" {
				problems = append(problems, d.name+": "+p)
			}
		}
		for _, args := range badFlags {
			run := runSockstat(ctx, nil, args...)
			suite.Evidence(run.command(), "%s; stdout %q; stderr %q", exitWords(run), report.Clip(run.stdout, 80), report.Clip(run.stderr, 200))
			if p := badInputProblem(run, 2, nil); p != "" {
				problems = append(problems, run.command()+": "+p)
			}
		}
		if len(problems) > 0 {
			suite.Failf("%s. sockstat reads files other programs wrote: when one cannot be read, say which file (and which line of a table, counting the header as line 1) on stderr, print nothing on stdout, and exit 1; a bad flag is a usage error, exit 2 (Task 6). Half a JSON document, or a panic, is worse than no answer: a script reading stdout cannot tell.",
				strings.Join(problems, "; "))
		}
	})
})

// badFlags are command lines the contract refuses with a usage error.
var badFlags = [][]string{
	{"-samples", "0"},
	{"-port", "65536"},
	{"-port", "http"},
	{"-interval", "0s", "-samples", "2"},
	{"-interval", "-1s"},
	{"now"},
}

// writeTree writes tree into a fresh directory that is removed after the spec.
func writeTree(tree procTree) string {
	dir, err := lab.MkdirShared("wirelab-proc-")
	must(err)
	DeferCleanup(func() { os.RemoveAll(dir) })
	must(tree.write(dir))
	return dir
}

// A damage breaks one thing in a written tree; apply returns what the error
// message must mention (a path fragment, and a line number for a table).
type damage struct {
	name  string
	apply func(dir string, tree procTree) *regexp.Regexp
}

var damages = []damage{
	{"a tcp6 row cut short", func(dir string, t procTree) *regexp.Regexp {
		line := damageLine(dir, "net/tcp6", func(fields []string) []string { return fields[:9] })
		return mention("net/tcp6", line)
	}},
	{"a tcp address that is not hex", func(dir string, t procTree) *regexp.Regexp {
		line := damageLine(dir, "net/tcp", func(fields []string) []string {
			fields[1] = strings.Replace(fields[1], fields[1][:1], "G", 1)
			return fields
		})
		return mention("net/tcp", line)
	}},
	{"a tcp state code that does not exist (0C)", func(dir string, t procTree) *regexp.Regexp {
		line := damageLine(dir, "net/tcp", func(fields []string) []string { fields[3] = "0C"; return fields })
		return mention("net/tcp", line)
	}},
	{"net/tcp6 missing", func(dir string, t procTree) *regexp.Regexp {
		must(os.Remove(filepath.Join(dir, "net/tcp6")))
		return mention("net/tcp6", 0)
	}},
	{"ip_local_port_range missing", func(dir string, t procTree) *regexp.Regexp {
		must(os.Remove(filepath.Join(dir, "sys/net/ipv4/ip_local_port_range")))
		return mention("ip_local_port_range", 0)
	}},
	{"an fd entry that is a file, not a link", func(dir string, t procTree) *regexp.Regexp {
		p := t.procs[1]
		must(os.WriteFile(filepath.Join(dir, strconv.Itoa(p.pid), "fd", "99"), []byte("not a link\n"), 0o644))
		return mention(fmt.Sprintf("%d/fd/99", p.pid), 0)
	}},
	{"an fd that is a file, not a directory", func(dir string, t procTree) *regexp.Regexp {
		p := t.procs[2]
		fd := filepath.Join(dir, strconv.Itoa(p.pid), "fd")
		must(os.RemoveAll(fd))
		must(os.WriteFile(fd, []byte("0 1 2\n"), 0o644))
		return mention(fmt.Sprintf("%d/fd", p.pid), 0)
	}},
}

// damageLine rewrites one seeded row (not the header) of a table and returns
// its line number, counting the header as line 1.
func damageLine(dir, table string, edit func(fields []string) []string) int {
	path := filepath.Join(dir, table)
	data, err := os.ReadFile(path)
	must(err)
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	i := 1 + suite.Rand("bad-input/line/"+table).IntN(len(lines)-1)
	lines[i] = strings.Join(edit(strings.Fields(lines[i])), " ")
	must(os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644))
	return i + 1
}

// mention is what an error message must contain: the path fragment and, for a
// table row, its line number as a number of its own.
func mention(fragment string, line int) *regexp.Regexp {
	expr := regexp.QuoteMeta(fragment)
	if line > 0 {
		// FILE:LINE, or FILE line LINE (FILE, line LINE): the number must be
		// the line's, not any number of the message ("9 fields, want 10").
		expr += fmt.Sprintf(`(:|,? line )%d\b`, line)
	}
	return regexp.MustCompile(expr)
}

// badInputProblem says what is wrong with a run that should have refused its
// input with exit status want, or "" if it did.
func badInputProblem(run sockstatRun, want int, must *regexp.Regexp) string {
	switch {
	case run.exit == -1:
		return "it did not finish"
	case run.panic != "":
		return "it panicked (" + run.panic + ")"
	case run.exit != want:
		return fmt.Sprintf("%s, not with status %d", exitWords(run), want)
	case run.stdout != "":
		return fmt.Sprintf("it wrote %q on stdout, which must stay empty when there is no document", report.Clip(run.stdout, 60))
	case strings.TrimSpace(run.stderr) == "":
		return "it said nothing on stderr"
	case must != nil && !must.MatchString(run.stderr):
		return fmt.Sprintf("stderr %q does not name %s", report.Clip(run.stderr, 160), strings.NewReplacer(`(:|,? line )`, ":", `\b`, "", `\`, "").Replace(must.String()))
	}
	return ""
}

func exitWords(run sockstatRun) string {
	if run.exit == -1 {
		return "did not finish"
	}
	return fmt.Sprintf("exited with status %d", run.exit)
}
