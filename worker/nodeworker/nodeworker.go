// Package nodeworker is funcd's Node.js language worker: JavaScript that
// speaks FunctionRpc (see package grpcworker) with nothing but Node itself,
// embedded in the binary.
//
// It runs apps written for the @azure/functions v4 programming model, with
// the app's own copy of that npm package: the worker provides the
// @azure/functions-core module the package registers the app's functions
// and hooks with, loads the files package.json's "main" names, and drives
// the package's programming model for each invocation.
//
// The files under js/ are the worker: worker.js (the entry point node
// runs: app loading, the invocation pipeline, the requests), core.js (the
// @azure/functions-core module), glob.js (package.json "main" patterns),
// grpc.js (one gRPC stream over node:http2), protobuf.js (a codec driven
// by schema.js) and schema.js, generated from the protocol's definitions
// by worker/grpcworker/internal/jsschema. Install writes them
// to a folder named after their content and returns the path of worker.js,
// which the host runs as `node <path>` with grpcworker's flags.
package nodeworker

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
)

//go:embed js/*.js
var files embed.FS

// Entry is the file node runs.
const Entry = "worker.js"

// FS returns the worker's files (worker.js and the modules it requires),
// at the root of the file system.
func FS() fs.FS {
	sub, err := fs.Sub(files, "js")
	if err != nil {
		panic(err) // cannot happen: js is embedded
	}
	return sub
}

// Version is a digest of the worker's files: it changes whenever one does.
func Version() string {
	sum, _ := digest()
	return sum
}

func digest() (string, map[string][]byte) {
	names, err := fs.Glob(FS(), "*.js")
	if err != nil {
		panic(err)
	}
	sort.Strings(names)
	h := sha256.New()
	contents := make(map[string][]byte, len(names))
	for _, n := range names {
		b, err := fs.ReadFile(FS(), n)
		if err != nil {
			panic(err)
		}
		contents[n] = b
		fmt.Fprintf(h, "%s\x00%d\x00", n, len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:16], contents
}

// Install writes the worker's files to dir/node-<Version>/ (created as
// needed) and returns the absolute path of its worker.js. A folder already
// holding this version is reused; files are written to a temporary folder
// first and renamed into place, so concurrent installs and a crash midway
// leave no half-written worker behind.
func Install(dir string) (string, error) {
	version, contents := digest()
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("nodeworker: %w", err)
	}
	final := filepath.Join(dir, "node-"+version)
	if err := install(final, contents); err != nil {
		return "", err
	}
	return filepath.Join(final, Entry), nil
}

// install writes contents to the folder final unless it already holds
// them: to a temporary sibling first, renamed into place.
func install(final string, contents map[string][]byte) error {
	if ok, err := installed(final, contents); err != nil {
		return fmt.Errorf("nodeworker: %w", err)
	} else if ok {
		return nil
	}
	parent := filepath.Dir(final)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("nodeworker: %w", err)
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(final)+"-")
	if err != nil {
		return fmt.Errorf("nodeworker: %w", err)
	}
	defer os.RemoveAll(tmp)
	for name, b := range contents {
		if err := os.WriteFile(filepath.Join(tmp, path.Base(name)), b, 0o644); err != nil {
			return fmt.Errorf("nodeworker: %w", err)
		}
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return fmt.Errorf("nodeworker: %w", err)
	}
	if err := os.Rename(tmp, final); err != nil {
		// Another install may have won the race.
		if ok, err2 := installed(final, contents); err2 == nil && ok {
			return nil
		}
		return fmt.Errorf("nodeworker: %w", err)
	}
	return nil
}

// installed reports whether dir holds exactly the given contents.
func installed(dir string, contents map[string][]byte) (bool, error) {
	for name, want := range contents {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		if string(got) != string(want) {
			return false, fmt.Errorf("%s holds a different %s; remove the folder", dir, name)
		}
	}
	return true, nil
}
