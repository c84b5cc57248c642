package release

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"text/template"
)

// toolchain is the Go toolchain the Gradescope image installs: the release's
// own, as the Go module proxy serves it (golang.org/toolchain), pinned by the
// SHA-256 of its zip.
type toolchain struct {
	GoToolchain            string // "go1.26.8"
	ToolchainModuleVersion string // "v0.0.1-go1.26.8.linux-amd64"
	ToolchainURL           string
	ToolchainSHA256        string
}

// goToolchain downloads (once: the module cache keeps it) the linux/amd64
// toolchain of the Go that builds this repository, and pins it.
func goToolchain(ctx context.Context, repo string) (*toolchain, error) {
	cmd := exec.CommandContext(ctx, "go", "env", "GOVERSION")
	cmd.Dir = repo
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("release: go env GOVERSION: %w", err)
	}
	goVersion := strings.TrimSpace(string(out))
	tc := &toolchain{GoToolchain: goVersion, ToolchainModuleVersion: "v0.0.1-" + goVersion + ".linux-amd64"}
	tc.ToolchainURL = "https://proxy.golang.org/golang.org/toolchain/@v/" + tc.ToolchainModuleVersion + ".zip"
	dl := exec.CommandContext(ctx, "go", "mod", "download", "-json", "golang.org/toolchain@"+tc.ToolchainModuleVersion)
	dl.Dir = repo
	dl.Env = append(os.Environ(), "GOFLAGS=")
	out, err = dl.Output()
	var info struct{ Zip, Error string }
	if jerr := json.Unmarshal(out, &info); jerr != nil || info.Zip == "" {
		return nil, fmt.Errorf("release: fetch the Go toolchain %s for Gradescope: %v %s", tc.ToolchainModuleVersion, err, info.Error)
	}
	if tc.ToolchainSHA256, err = FileSHA256(info.Zip); err != nil {
		return nil, err
	}
	return tc, nil
}

// PackGradescope writes the Gradescope autograder zip: setup.sh (installs the
// pinned Go toolchain), run_autograder (grade --gradescope), and the
// instructor build of the grader at grader.
func PackGradescope(ctx context.Context, opt Options, grader, zipPath string) error {
	tc, err := goToolchain(ctx, opt.Repo)
	if err != nil {
		return err
	}
	setup, err := setupScript(tc)
	if err != nil {
		return err
	}
	run, err := files.ReadFile("gradescope/run_autograder")
	if err != nil {
		return err
	}
	bin, err := os.ReadFile(grader)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range []struct {
		name string
		data []byte
	}{{"setup.sh", setup}, {"run_autograder", run}, {"grade", bin}} {
		h := &zip.FileHeader{Name: f.name, Method: zip.Deflate}
		h.SetMode(0o755)
		w, err := zw.CreateHeader(h)
		if err != nil {
			return err
		}
		if _, err := w.Write(f.data); err != nil {
			return err
		}
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return writeFile(zipPath, buf.Bytes(), 0o644)
}

// setupScript is setup.sh for the pinned toolchain.
func setupScript(tc *toolchain) ([]byte, error) {
	src, err := files.ReadFile("gradescope/setup.sh.tmpl")
	if err != nil {
		return nil, err
	}
	t, err := template.New("setup.sh").Option("missingkey=error").Parse(string(src))
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := t.Execute(&b, tc); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
