package funcd_test

import (
	"encoding/json"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// pkg is the part of `go list -json` these tests read.
type pkg struct {
	ImportPath string
	Doc        string
	Imports    []string
	Standard   bool
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	out, err := exec.Command("go", "list", "-json", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

const module = "github.com/funcd/funcd"

// TestDependencyDirection keeps the layers of docs/ARCHITECTURE.md: inner
// packages never import outer ones, and the vocabulary imports nothing of
// the project's.
func TestDependencyDirection(t *testing.T) {
	// Each package may import, of the project's packages, only these.
	allowed := map[string][]string{
		"":                          {},
		"/clock":                    {},
		"/route":                    {},
		"/appconfig":                {"", "/route"},
		"/keys":                     {""},
		"/worker":                   {"", "/clock"},
		"/worker/httpworker":        {"", "/clock", "/worker", "/worker/internal/loopback"},
		"/worker/workerconfig":      {""},
		"/worker/internal/loopback": {},
		"/frontdoor":                {},
		// The durable engine knows the vocabulary and the clock; stores
		// implement its Backend, the host and the HTTP API drive it.
		"/durable": {"", "/clock"},
	}
	// And none of these at all, whatever the package.
	banned := map[string][]string{
		"":                     {"net/http", "net", "os", "database/sql"},
		"/appconfig":           {"net/http", "os/exec"},
		"/route":               {"net/http"},
		"/host":                {"net/http"},
		"/worker/workerconfig": {"os/exec", "net", "net/http"},
		"/durable":             {"net/http", "database/sql"},
	}
	for _, p := range listPackages(t) {
		rel := strings.TrimPrefix(p.ImportPath, module)
		allow, checked := allowed[rel]
		for _, imp := range p.Imports {
			if strings.HasPrefix(imp, module) {
				irel := strings.TrimPrefix(imp, module)
				if checked && !slices.Contains(allow, irel) {
					t.Errorf("%s imports %s, which is outside its layer", p.ImportPath, imp)
				}
			}
			if slices.Contains(banned[rel], imp) {
				t.Errorf("%s imports %s; it must not", p.ImportPath, imp)
			}
		}
	}
}

// TestPackageDocs: every package says what it is for.
func TestPackageDocs(t *testing.T) {
	for _, p := range listPackages(t) {
		if strings.TrimSpace(p.Doc) == "" {
			t.Errorf("package %s has no package doc comment", p.ImportPath)
		}
	}
}

// TestSDKDependencies: the Go SDK is imported by users' apps, so it must
// not pull in the host. Of the project's packages, sdk/... may depend
// (directly or not) only on each other, on the generated protocol code and
// on the standard-library-only heap floor; of the rest, only on the standard library, gRPC and protobuf.
func TestSDKDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}} {{.Standard}}", "./sdk/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	thirdParty := []string{"google.golang.org/grpc", "google.golang.org/protobuf", "google.golang.org/genproto/",
		"golang.org/x/net/", "golang.org/x/sys/", "golang.org/x/text/"}
	seen := 0
	for line := range strings.Lines(string(out)) {
		path, std, _ := strings.Cut(strings.TrimSpace(line), " ")
		seen++
		switch {
		case std == "true":
		case path == module+"/sdk" || strings.HasPrefix(path, module+"/sdk/"):
		case path == module+"/worker/grpcworker/rpcpb", path == module+"/internal/gcfloor":
		case strings.HasPrefix(path, module):
			t.Errorf("the Go SDK depends on %s; it may use only sdk/..., worker/grpcworker/rpcpb and internal/gcfloor", path)
		case !slices.ContainsFunc(thirdParty, func(p string) bool { return strings.HasPrefix(path, p) }):
			t.Errorf("the Go SDK depends on %s; it may use only the standard library, gRPC and protobuf", path)
		}
	}
	if seen == 0 {
		t.Fatal("go list listed no packages under ./sdk")
	}
}
