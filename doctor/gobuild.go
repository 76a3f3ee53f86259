package doctor

import (
	"fmt"
	"go/parser"
	"go/token"
	"io/fs"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// buildFix says how to produce a missing handler program: the go build
// command when Go handler source is nearby.
func (c *checker) buildFix(exe string) string {
	if cmd := c.goBuildCommand(exe); cmd != "" {
		return "build it from its Go source, in the app folder: " + cmd
	}
	return `build or copy the handler program there, or fix "defaultExecutablePath" (a path relative to the app folder, or a program on PATH)`
}

// goBuildCommand returns the command that builds the Go handler source in
// the app into exe, run from the app folder, or "" if there is none.
func (c *checker) goBuildCommand(exe string) string {
	dir := c.goMainDir()
	if dir == "" {
		return ""
	}
	out := filepath.ToSlash(exe)
	if dir != "." && c.isFile(dir+"/go.mod") {
		// A module of its own: build inside it, the output relative to it.
		if !filepath.IsAbs(exe) {
			out = path.Join(strings.Repeat("../", strings.Count(dir, "/")+1), out)
		}
		return fmt.Sprintf("go build -C %s -o %s .", dir, out)
	}
	if dir == "." {
		return fmt.Sprintf("go build -o %s .", out)
	}
	return fmt.Sprintf("go build -o %s ./%s", out, dir)
}

// goMainDir returns the folder of the app, relative and slash-separated,
// that holds a Go main package: handler/ first (funcd init writes it there),
// then the other top-level folders in order, then the app folder itself.
// It returns "" if there is none.
func (c *checker) goMainDir() string {
	candidates := []string{"handler"}
	entries, _ := fs.ReadDir(c.fsys, ".")
	for _, e := range entries {
		if e.IsDir() && !skipDir(e.Name()) && e.Name() != "handler" {
			candidates = append(candidates, e.Name())
		}
	}
	candidates = append(candidates, ".")
	if i := slices.IndexFunc(candidates, c.hasMainPackage); i >= 0 {
		return candidates[i]
	}
	return ""
}

// skipDir reports folders that never hold a handler's source.
func skipDir(name string) bool {
	return strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") ||
		slices.Contains([]string{"bin", "node_modules", "vendor", "testdata"}, name)
}

// hasMainPackage reports whether dir holds a non-test Go file of package
// main.
func (c *checker) hasMainPackage(dir string) bool {
	entries, err := fs.ReadDir(c.fsys, dir)
	if err != nil {
		return false
	}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		src := readFile(c.fsys, path.Join(dir, name))
		f, err := parser.ParseFile(token.NewFileSet(), name, src, parser.PackageClauseOnly)
		if err == nil && f.Name.Name == "main" {
			return true
		}
	}
	return false
}

// isFile reports whether a regular file exists at name in the app.
func (c *checker) isFile(name string) bool {
	info, err := fs.Stat(c.fsys, name)
	return err == nil && info.Mode().IsRegular()
}
