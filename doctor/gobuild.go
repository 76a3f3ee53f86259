package doctor

import (
	"fmt"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
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
	if !c.inModule() {
		return c.buildWithoutModule(dir, out)
	}
	if dir == "." {
		return fmt.Sprintf("go build -o %s .", out)
	}
	return fmt.Sprintf("go build -o %s ./%s", out, dir)
}

// inModule reports whether the app folder lies in a Go module: a go.mod in
// it or in a folder above it, where the go command looks.
func (c *checker) inModule() bool {
	for dir := c.root; ; {
		if info, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil && info.Mode().IsRegular() {
			return true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return false
		}
		dir = parent
	}
}

// buildWithoutModule returns the command that builds the main package in dir
// when no go.mod covers it. The go command then builds only files named on
// its command line, and only when they import nothing outside the standard
// library; otherwise the package needs a module first.
func (c *checker) buildWithoutModule(dir, out string) string {
	files, stdOnly := c.mainFiles(dir)
	if stdOnly {
		for i, f := range files {
			files[i] = path.Join(dir, f)
		}
		return fmt.Sprintf("go build -o %s %s", out, strings.Join(files, " "))
	}
	module := moduleName(dir, c.root)
	if dir == "." {
		return fmt.Sprintf("go mod init %s && go mod tidy && go build -o %s .", module, out)
	}
	if !filepath.IsAbs(out) {
		out = path.Join(strings.Repeat("../", strings.Count(dir, "/")+1), out)
	}
	return fmt.Sprintf("(cd %s && go mod init %s && go mod tidy) && go build -C %s -o %s .", dir, module, dir, out)
}

// mainFiles returns the names of dir's non-test Go files of package main,
// sorted, and whether they import only standard library packages.
func (c *checker) mainFiles(dir string) ([]string, bool) {
	entries, _ := fs.ReadDir(c.fsys, dir)
	var files []string
	stdOnly := true
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, readFile(c.fsys, path.Join(dir, name)), parser.ImportsOnly)
		if err != nil || f.Name.Name != "main" {
			continue
		}
		files = append(files, name)
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if first, _, _ := strings.Cut(p, "/"); strings.Contains(first, ".") {
				stdOnly = false
			}
		}
	}
	return files, stdOnly
}

// moduleName is the module path go mod init is given: the handler folder's
// name, or the app folder's for a handler at the app root, as a valid path.
func moduleName(dir, root string) string {
	name := path.Base(dir)
	if dir == "." {
		name = filepath.Base(root)
	}
	name = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			return r
		}
		if r >= 'A' && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return '-'
	}, name)
	if strings.Trim(name, "-_.") == "" {
		return "handler"
	}
	return name
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
