package appconfig

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"

	"github.com/funcd/funcd"
)

// WorkerFunction is a function a language worker indexed itself (worker
// indexing): its RpcFunctionMetadata in the terms of function.json.
type WorkerFunction struct {
	// Name is the function's name.
	Name string
	// ScriptFile is the file that registered the function (absolute, or
	// relative to the app's folder); "" when the worker did not say.
	ScriptFile string
	// EntryPoint is the worker's entry point, if any.
	EntryPoint string
	// Bindings are the worker's raw bindings: one JSON object per binding,
	// as function.json writes them ({"type", "direction", "name", ...}).
	Bindings []json.RawMessage
	// Retry is the function's retry policy as a function.json "retry"
	// object; nil when it has none.
	Retry json.RawMessage
	// Err is set when the worker failed to index or load the function: it
	// is listed, in error.
	Err error
}

// workerSource names where a worker-indexed function came from, for its
// errors: the file that registered it, relative to the app's folder when
// it lies inside.
func (l *loader) workerSource(wf WorkerFunction) string {
	if wf.ScriptFile == "" {
		return "(indexed by the " + l.app.WorkerRuntime + " worker)"
	}
	if rel, ok := l.relToRoot(wf.ScriptFile); ok {
		return rel
	}
	return filepath.ToSlash(wf.ScriptFile)
}

// loadWorkerFunctions reads the functions the worker indexed, in the host's
// name order, checking each as a function.json with the same bindings.
func (l *loader) loadWorkerFunctions() {
	l.app.WorkerIndexed = true
	fns := slices.Clone(l.opts.WorkerFunctions)
	slices.SortStableFunc(fns, func(a, b WorkerFunction) int { return compareFunctionNames(a.Name, b.Name) })
	seen := map[string]bool{}
	for _, wf := range fns {
		fn := l.loadWorkerFunction(wf)
		if key := strings.ToLower(wf.Name); seen[key] {
			fn.Errors = append(fn.Errors, &funcd.ConfigError{File: fn.ConfigFile,
				Msg:  "The " + l.app.WorkerRuntime + " worker indexed more than one function named '" + wf.Name + "'.",
				Hint: "Give each function a unique name (names are compared case-insensitively)."})
		} else {
			seen[key] = true
		}
		l.app.Functions = append(l.app.Functions, fn)
	}
}

// loadWorkerFunction checks one worker-indexed function as loadFunction
// checks a function folder, from the function.json its metadata amounts to.
// Positions inside that made-up document mean nothing to the user, so its
// errors carry the binding's field path but no line and column.
func (l *loader) loadWorkerFunction(wf WorkerFunction) *funcd.Function {
	doc := workerFunctionJSON(wf)
	fn := &funcd.Function{Name: wf.Name, ConfigFile: l.workerSource(wf), Config: doc}
	fl := &fnLoader{l: l, fn: fn, data: doc, worker: true}
	if wf.ScriptFile != "" {
		fn.ScriptFile = wf.ScriptFile
		if !filepath.IsAbs(wf.ScriptFile) && l.opts.Root != "" {
			fn.ScriptFile = filepath.Join(l.opts.Root, filepath.FromSlash(wf.ScriptFile))
		}
	}
	if wf.Err != nil {
		fn.Errors = append(fn.Errors, &funcd.ConfigError{File: fn.ConfigFile,
			Msg: "The " + l.app.WorkerRuntime + " worker could not load the function: " + wf.Err.Error()})
		return fn
	}
	return fl.run()
}

// workerFunctionJSON is the function.json a worker-indexed function
// amounts to. A raw binding that is not a JSON object is kept as written,
// so that the usual checks report it.
func workerFunctionJSON(wf WorkerFunction) json.RawMessage {
	var b bytes.Buffer
	b.WriteString(`{"bindings":[`)
	for i, raw := range wf.Bindings {
		if i > 0 {
			b.WriteByte(',')
		}
		if json.Valid(raw) {
			b.Write(raw)
		} else {
			q, _ := json.Marshal(string(raw))
			b.Write(q)
		}
	}
	b.WriteByte(']')
	if wf.EntryPoint != "" {
		q, _ := json.Marshal(wf.EntryPoint)
		b.WriteString(`,"entryPoint":`)
		b.Write(q)
	}
	if len(wf.Retry) > 0 && json.Valid(wf.Retry) {
		b.WriteString(`,"retry":`)
		b.Write(wf.Retry)
	}
	b.WriteByte('}')
	return b.Bytes()
}

// clearWorkerPositions drops the line and column of errors about
// worker-indexed functions: they point into workerFunctionJSON's document.
func (l *loader) clearWorkerPositions() {
	if !l.app.WorkerIndexed {
		return
	}
	for _, fn := range l.app.Functions {
		for _, e := range fn.Errors {
			e.Line, e.Column = 0, 0
		}
	}
}
