package engine

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/wirelab/wirelab/grader/build"
	"github.com/wirelab/wirelab/grader/jail"
)

// Bounds on what a case's directory may hold: its programs and artifact are a
// few KiB each; anything near these is not a submission.
const (
	maxCaseFileSize  = 8 << 20
	maxCaseTreeSize  = 64 << 20
	maxCaseTreeFiles = 5000
)

// treeSkips are directories of a submission that the grader never reads as
// part of it: version control, the downloaded grader, reports.
var treeSkips = map[string]bool{".git": true, ".grader": true, "reports": true}

// checkTree refuses, before anything is built or read, a submission the
// grader could be tricked by: in the case's directory, a name that is not
// UTF-8, a file too large or too many files; anywhere in the submission, a
// symbolic link that leads outside it (the grader builds as root and would
// read what it points to), or a named pipe, socket or device (go build would
// block on a pipe). It returns the problem, in the student's words, or "".
func checkTree(root, caseDir string) string {
	absRoot, err := filepath.Abs(root)
	if err != nil {
		return "the grader could not resolve the submission's path: " + err.Error()
	}
	if resolved, err := filepath.EvalSymlinks(absRoot); err == nil {
		absRoot = resolved
	}
	var problems []string
	walk := func(dir string, inCase bool) {
		var files int
		var total int64
		filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if len(problems) >= 5 {
				return fs.SkipAll
			}
			shown := build.Relative(root, path)
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s could not be read (%v)", shown, err))
				return nil
			}
			if d.IsDir() && treeSkips[d.Name()] && path != dir {
				return fs.SkipDir
			}
			if inCase && !utf8.ValidString(d.Name()) {
				problems = append(problems, fmt.Sprintf("a name in %s is not valid UTF-8 (%q): rename it", build.Relative(root, filepath.Dir(path)), d.Name()))
				return nil
			}
			switch mode := d.Type(); {
			case mode&fs.ModeSymlink != 0:
				if p := badLink(absRoot, path); p != "" {
					problems = append(problems, fmt.Sprintf("%s is a symbolic link to %s: the grader reads only files inside your submission, so commit the file itself instead of a link", shown, p))
				}
			case mode&(fs.ModeNamedPipe|fs.ModeSocket|fs.ModeDevice|fs.ModeCharDevice|fs.ModeIrregular) != 0:
				problems = append(problems, fmt.Sprintf("%s is not a regular file (%v): a submission holds regular files and directories only", shown, mode))
			case mode.IsRegular() && inCase:
				info, err := d.Info()
				if err != nil {
					return nil
				}
				files++
				total += info.Size()
				if info.Size() > maxCaseFileSize {
					problems = append(problems, fmt.Sprintf("%s is %s; the grader reads no file above %s in a case's directory (programs and artifacts are a few KiB): remove it or keep it elsewhere", shown, jail.Bytes(info.Size()), jail.Bytes(maxCaseFileSize)))
				}
			}
			return nil
		})
		if inCase && (files > maxCaseTreeFiles || total > maxCaseTreeSize) {
			problems = append(problems, fmt.Sprintf("%s holds %d files, %s in all; the grader reads at most %d files and %s from a case's directory", build.Relative(root, dir), files, jail.Bytes(total), maxCaseTreeFiles, jail.Bytes(maxCaseTreeSize)))
		}
	}
	walk(caseDir, true)
	if len(problems) == 0 {
		walk(root, false)
	}
	if len(problems) == 0 {
		return ""
	}
	return "the grader refused to read this submission: " + strings.Join(problems, "; ")
}

// badLink says where the link at path leads when that is outside root or
// nowhere, else "".
func badLink(root, path string) string {
	target, err := filepath.EvalSymlinks(path)
	if err != nil {
		dest, _ := os.Readlink(path)
		if errors.Is(err, os.ErrNotExist) {
			return dest + ", which does not exist"
		}
		return dest + ", which the grader cannot resolve"
	}
	if rel, err := filepath.Rel(root, target); err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return target + ", outside your submission"
	}
	return ""
}
