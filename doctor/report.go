package doctor

import (
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Severity says how much a finding matters.
type Severity int

// Severities, from a healthy function to a problem that stops something from
// running.
const (
	// OK marks a function that loads and runs.
	OK Severity = iota
	// Waiting marks a function that loads but cannot run until an app-level
	// error (a broken host.json or custom handler) is fixed.
	Waiting
	// Warning marks something that works as configured but may not be
	// what the user wants, such as a disabled function.
	Warning
	// Error marks a problem that keeps the app or a function from running.
	Error
)

// String returns the label Report.Write prints.
func (s Severity) String() string {
	switch s {
	case OK:
		return "OK"
	case Waiting:
		return "WAIT"
	case Warning:
		return "WARN"
	case Error:
		return "ERROR"
	}
	return "?"
}

// Finding is one thing Check found.
type Finding struct {
	Severity Severity
	// Function is the function the finding is about, or "" for the app.
	Function string
	// File is the path relative to the app folder, with forward slashes,
	// or "" when no file is involved (a setting from the environment).
	File string
	// Line and Column are 1-based; zero when not known.
	Line, Column int
	// Field is the JSON path of the property at fault, if any.
	Field string
	// Problem says what is wrong (or, for OK, what runs).
	Problem string
	// Fix says how to fix it; empty for OK findings.
	Fix string
}

// Location returns "file:line:column", as much of it as is known.
func (f Finding) Location() string {
	if f.File == "" {
		return ""
	}
	loc := f.File
	if f.Line > 0 {
		loc += ":" + strconv.Itoa(f.Line)
		if f.Column > 0 {
			loc += ":" + strconv.Itoa(f.Column)
		}
	}
	return loc
}

// Report is the result of Check.
type Report struct {
	// Dir is the app folder as given to Check.
	Dir string
	// Findings are app-level findings first, then each function's in
	// function order; every function that runs has an OK finding.
	Findings []Finding
	// WorkerIndexed is set for an app whose language worker registers its
	// functions as it starts (a Node.js v4 or Go SDK app): they are in no
	// file Check reads.
	WorkerIndexed bool
}

// OK reports whether no finding is an error.
func (r Report) OK() bool { return r.count(Error) == 0 }

func (r Report) count(s Severity) int {
	n := 0
	for _, f := range r.Findings {
		if f.Severity == s {
			n++
		}
	}
	return n
}

// Write prints the report: one entry per finding (severity, function,
// location, field and problem, then the fix on its own line) and a summary.
func (r Report) Write(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Checking the function app in %s\n\n", r.Dir)
	for _, f := range r.Findings {
		writeFinding(&b, f)
	}
	if len(r.Findings) > 0 {
		b.WriteString("\n")
	}
	b.WriteString(r.summary() + "\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// writeFinding prints one finding as
//
//	ERROR hello: hello/function.json:4:7: bindings[0].type: problem
//	      Fix: fix
func writeFinding(b *strings.Builder, f Finding) {
	parts := []string{}
	for _, p := range []string{f.Function, f.Location(), f.Field} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	parts = append(parts, f.Problem)
	fmt.Fprintf(b, "%-5s %s\n", f.Severity, strings.Join(parts, ": "))
	if f.Fix != "" {
		fmt.Fprintf(b, "      Fix: %s\n", f.Fix)
	}
}

// summary counts errors, warnings and functions that run.
func (r Report) summary() string {
	errs, warns := r.count(Error), r.count(Warning)
	ok := 0
	for _, f := range r.Findings {
		if f.Severity == OK && f.Function != "" {
			ok++
		}
	}
	running := plural(ok, "function") + " run"
	if ok == 1 {
		running += "s"
	}
	if ok == 0 && r.WorkerIndexed {
		running = "the worker registers the functions when funcd start runs, which lists them and logs their errors"
	}
	if waiting := r.count(Waiting); waiting > 0 {
		running += fmt.Sprintf(", %d waiting for the app-level errors to be fixed", waiting)
	}
	if errs == 0 && warns == 0 {
		return fmt.Sprintf("No problems found; %s.", running)
	}
	return fmt.Sprintf("%s, %s; %s.", plural(errs, "error"), plural(warns, "warning"), running)
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}
