// Command stability grades every fixture (reference, skeleton, mutants) many
// times with different seeds and prints, per criterion, how often its verdict
// differed from the majority. A criterion that ever flips is redesigned, not
// retried. With -busy, another process keeps one core busy the whole time.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/wirelab/wirelab/grader/engine"
	"github.com/wirelab/wirelab/grader/release"
	"github.com/wirelab/wirelab/grader/report"
	"github.com/wirelab/wirelab/grader/selftest"
)

func main() {
	runs := flag.Int("runs", 10, "gradings per fixture")
	only := flag.String("case", "", "only this case slug")
	match := flag.String("target", "", "only targets whose name contains this text")
	busy := flag.Bool("busy", false, "keep one core busy with another process while grading")
	broken := flag.Bool("broken", false, "also grade the broken submissions (fixtures/*/broken)")
	seed := flag.Int64("seed", time.Now().Unix()%100000, "seed of the first run; run i uses seed+i")
	flag.Parse()
	if err := run(*runs, *only, *match, *busy, *broken, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "stability:", err)
		os.Exit(1)
	}
}

func run(runs int, only, match string, busy, broken bool, seed int64) error {
	root, err := filepath.Abs(".")
	if err != nil {
		return err
	}
	grade := filepath.Join(os.TempDir(), fmt.Sprintf("wirelab-stability-grade-%d", os.Getpid()))
	defer os.Remove(grade)
	if err := release.BuildGrade(context.Background(), root, grade, nil); err != nil {
		return err
	}
	if busy {
		burner := exec.Command("sh", "-c", "while :; do :; done")
		if err := burner.Start(); err != nil {
			return err
		}
		defer func() { burner.Process.Kill(); burner.Wait() }()
		fmt.Printf("one core kept busy by pid %d\n", burner.Process.Pid)
	}
	totalFlips, wrong := 0, 0
	for _, slug := range engine.Slugs() {
		if only != "" && slug != only {
			continue
		}
		criteria, err := selftest.Criteria(slug)
		if err != nil {
			return err
		}
		targets, err := selftest.Targets(root, slug)
		if err != nil {
			return err
		}
		for _, t := range targets {
			if match != "" && !strings.Contains(t.Name, match) || !broken && strings.Contains(t.Name, "/broken/") {
				continue
			}
			var verdicts []map[string]report.Status
			var problems []string
			start := time.Now()
			for i := 0; i < runs; i++ {
				r, err := selftest.Grade(grade, root, t, seed+int64(i))
				if err != nil {
					return err
				}
				verdicts = append(verdicts, selftest.Verdicts(r, slug))
				for _, p := range selftest.Judge(t, r) {
					problems = append(problems, fmt.Sprintf("seed %d: %s", seed+int64(i), p))
				}
			}
			flips := selftest.Flips(verdicts)
			fmt.Printf("\n%s: %d runs in %v (seeds %d..%d)\n", t.Name, runs, time.Since(start).Round(time.Second), seed, seed+int64(runs)-1)
			tw := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "  criterion\tverdicts\tflips")
			for _, id := range append(criteria, "artifact") {
				fmt.Fprintf(tw, "  %s\t%s\t%d\n", id, tallyOf(verdicts, id), flips[id])
				totalFlips += flips[id]
			}
			tw.Flush()
			for _, p := range problems {
				fmt.Println("  expectation not met:", p)
			}
			wrong += len(problems)
		}
	}
	fmt.Printf("\nflips: %d; runs that did not meet their fixture's expectations: %d\n", totalFlips, wrong)
	if totalFlips > 0 || wrong > 0 {
		return fmt.Errorf("unstable or wrong verdicts")
	}
	return nil
}

func tallyOf(verdicts []map[string]report.Status, id string) string {
	counts := map[report.Status]int{}
	for _, v := range verdicts {
		counts[v[id]]++
	}
	var parts []string
	for _, st := range []report.Status{report.Passed, report.Failed, report.Skipped, report.Error} {
		if counts[st] > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", st, counts[st]))
		}
	}
	return strings.Join(parts, ", ")
}
