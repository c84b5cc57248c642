// Package version says which grader this is: the release version and commit
// stamped in at build time (go build -ldflags "-X ..."), a digest of the rubrics
// embedded in the binary, and the flavor. A course's release builds the
// student flavor, which refuses instructor mode; everything else (make build,
// go run, the Gradescope autograder, batch regrades) is the instructor flavor.
package version

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"runtime/debug"
	"sort"
	"strings"

	"github.com/wirelab/wirelab/rubrics"
)

// Set at build time by the release (see grader/release): for example
// -ldflags "-X github.com/wirelab/wirelab/grader/version.Version=2026.1".
var (
	Version = "dev" // the course release, e.g. "2026.1"; "dev" for a working tree
	Commit  = ""    // the commit of this repository it was built from; empty: from the Go build info
	Flavor  = ""    // "student" for the binary students download; empty: instructor
)

// Student reports whether this is the student flavor, which refuses to show
// hidden evidence.
func Student() bool { return Flavor == "student" }

// CommitID is the commit the binary was built from: the stamped one, else the
// one the Go toolchain recorded (with "+dirty" for a modified tree), else "unknown".
func CommitID() string {
	if Commit != "" {
		return Commit
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	var rev, dirty string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "+dirty"
			}
		}
	}
	if rev == "" {
		return "unknown"
	}
	return rev + dirty
}

// RubricsDigest is the SHA-256 of the embedded rubrics (each file's name and
// contents, in name order), short form: two binaries with the same digest
// award points by the same rubrics.
func RubricsDigest() string { return digest(rubrics.Files) }

func digest(files fs.FS) string {
	names, err := fs.Glob(files, "*.yaml")
	if err != nil {
		return "unreadable"
	}
	sort.Strings(names)
	h := sha256.New()
	for _, name := range names {
		data, err := fs.ReadFile(files, name)
		if err != nil {
			return "unreadable"
		}
		fmt.Fprintf(h, "%s\x00%d\x00", name, len(data))
		h.Write(data)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// Short identifies the grader in one token, for gradebooks and report.json:
// "2026.1+rubrics.1a2b3c4d5e6f7a8b"; a development build names its commit too
// ("dev.0123456789ab+rubrics.…", with "-dirty" for a modified tree), since its
// version alone says nothing about its specs.
func Short() string {
	v := Version
	if v == "dev" {
		c := CommitID()
		dirty := strings.HasSuffix(c, "+dirty")
		c = strings.TrimSuffix(c, "+dirty")
		if len(c) > 12 {
			c = c[:12]
		}
		v += "." + c
		if dirty {
			v += "-dirty"
		}
	}
	return v + "+rubrics." + RubricsDigest()
}

// Long is what `grade --version` prints.
func Long() string {
	flavor := "instructor"
	if Student() {
		flavor = "student"
	}
	return fmt.Sprintf("wirelab grade %s (%s build)\ncommit  %s\nrubrics sha256:%s\n", Version, flavor, CommitID(), RubricsDigest())
}
