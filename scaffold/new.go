package scaffold

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"text/template"
)

// Template is a function template New can write.
type Template struct {
	// Name is the name Core Tools shows, such as "HTTP trigger".
	Name string
	// Aliases are other names New accepts.
	Aliases []string

	functionJSON string // embedded function.json ("": Go apps only)
	handlerCode  string // embedded text/template of the handler file
	goCode       string // embedded text/template of a Go app's function file
}

// Templates are the function templates New knows.
var Templates = []Template{
	{
		Name:         "HTTP trigger",
		Aliases:      []string{"http"},
		functionJSON: "httptrigger/function.json",
		handlerCode:  "httptrigger/function.go.tmpl",
		goCode:       "gohttp/function.go.tmpl",
	},
	{Name: "Timer trigger", Aliases: []string{"timer"}, goCode: "gotimer/function.go.tmpl"},
	{Name: "Azure Queue Storage trigger", Aliases: []string{"queue", "QueueTrigger"}, goCode: "goqueue/function.go.tmpl"},
	{Name: "Azure Blob Storage trigger", Aliases: []string{"blob", "BlobTrigger"}, goCode: "goblob/function.go.tmpl"},
}

// TemplateNames returns the names of the templates New knows.
func TemplateNames() []string {
	names := make([]string, len(Templates))
	for i, t := range Templates {
		names[i] = t.Name
	}
	return names
}

// FindTemplate returns the template with the given name or alias. Case and
// spaces do not matter, as in Core Tools, so "HttpTrigger" finds "HTTP
// trigger".
func FindTemplate(name string) (*Template, error) {
	want := squash(name)
	for i, t := range Templates {
		if squash(t.Name) == want {
			return &Templates[i], nil
		}
		for _, a := range t.Aliases {
			if squash(a) == want {
				return &Templates[i], nil
			}
		}
	}
	return nil, fmt.Errorf("can't find template %q; available templates: %s", name, quoteAll(TemplateNames()))
}

// squash lowercases s and drops its spaces.
func squash(s string) string {
	return strings.ToLower(strings.ReplaceAll(s, " ", ""))
}

func quoteAll(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}

// functionName is the host's rule for function names (case-insensitive).
var functionName = regexp.MustCompile(`(?i)^[a-z][a-z0-9_\-]{0,127}$`)

// ValidateFunctionName returns the host's error for a name it would not
// load a function under, or nil.
func ValidateFunctionName(name string) error {
	if !functionName.MatchString(name) || strings.EqualFold(name, "host") {
		//lint:ignore ST1005 the host's words, which users search for
		return fmt.Errorf("'%s' is not a valid function name.", name)
	}
	return nil
}

// New creates the function name in the app in dir from the named template:
// the folder name/ with a function.json, and, when dir holds the Go custom
// handler that Init writes, a file in handler/ that registers the function's
// code. The template name is matched as FindTemplate does.
//
// New refuses a folder without host.json, a name the host would not load and
// a function folder that exists (in any case). It returns one line per file it wrote and, for an
// app without Init's handler, a line that says what to add to the handler.
func New(dir, templateName, name string) ([]string, error) {
	t, err := FindTemplate(templateName)
	if err != nil {
		return nil, err
	}
	if err := ValidateFunctionName(name); err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(dir, "host.json")); err != nil {
		return nil, fmt.Errorf("no function app in %s: host.json is missing (create an app with funcd init)", dir)
	}
	if isGoApp(dir) {
		return newGo(dir, t, name)
	}
	if t.functionJSON == "" {
		return nil, fmt.Errorf("the %q template is for Go SDK apps (funcd init --worker-runtime go); this app in %s is not one", t.Name, dir)
	}
	if existing, err := findFolder(dir, name); err != nil {
		return nil, err
	} else if existing != "" {
		return nil, fmt.Errorf("a function folder named %s already exists in %s", existing, dir)
	}
	line, err := writeNew(dir, name+"/function.json", embedded(t.functionJSON))
	if err != nil {
		return nil, err
	}
	lines := []string{line}
	if !hasScaffoldHandler(dir) {
		return append(lines, fmt.Sprintf("Add the code of %s to your custom handler: it answers POST /%s.", name, name)), nil
	}
	code, err := t.handlerFile(name)
	if err != nil {
		return lines, err
	}
	line, err = writeNew(dir, HandlerFile(name), code)
	if err != nil {
		return lines, err
	}
	return append(lines, line), nil
}

// newGo adds a function to a Go SDK app: a file that registers it on the
// app's App in an init function.
func newGo(dir string, t *Template, name string) ([]string, error) {
	file := GoFunctionFile(name)
	if _, err := os.Stat(filepath.Join(dir, file)); err == nil {
		return nil, fmt.Errorf("%s already exists in %s: is there a function named %s?", file, dir, name)
	}
	code, err := render(t.goCode, struct{ Name string }{name})
	if err != nil {
		return nil, err
	}
	line, err := writeNew(dir, file, code)
	if err != nil {
		return nil, err
	}
	return []string{line}, nil
}

// HandlerFile returns the path, relative to the app folder, of the file New
// writes for a function's code in the Go handler. The "_function" suffix
// keeps the Go tool from reading a name such as "x_test" or "x_linux" as a
// test file or a build constraint.
func HandlerFile(function string) string {
	return HandlerDir + "/" + strings.ToLower(function) + "_function.go"
}

// handlerFile renders the template's handler code for a function.
func (t *Template) handlerFile(name string) ([]byte, error) {
	tmpl, err := template.New(t.handlerCode).Parse(string(embedded(t.handlerCode)))
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := tmpl.Execute(&b, struct{ Name string }{name}); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// findFolder returns the name of the entry of dir that matches name
// case-insensitively (function names are), or "".
func findFolder(dir, name string) (string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", err
	}
	for _, e := range entries {
		if strings.EqualFold(e.Name(), name) {
			return e.Name(), nil
		}
	}
	return "", nil
}

// hasScaffoldHandler reports whether dir holds the Go handler Init writes:
// a handler/main.go that declares handleHTTP.
func hasScaffoldHandler(dir string) bool {
	data, err := os.ReadFile(filepath.Join(dir, HandlerDir, "main.go"))
	return err == nil && bytes.Contains(data, []byte("\nfunc handleHTTP("))
}
