package appconfig

import (
	"encoding/json"
	"errors"
	"io/fs"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/funcd/funcd"
)

const functionFile = "function.json"

var (
	// functionNameRE is the host's function name rule; "host" is excluded
	// separately.
	functionNameRE = regexp.MustCompile(`(?i)^[a-z][a-z0-9_\-]{0,127}$`)
	// bindingNameRE is the host's binding name rule (case-sensitive for
	// "$return").
	bindingNameRE = regexp.MustCompile(`^([a-zA-Z][a-zA-Z0-9]{0,127}|\$return)$`)
)

// loadFunctions reads every direct subfolder of the root that holds a
// function.json, in name order (case-insensitive), then applies what needs
// the whole app: the allow list, route checks, app settings and disabling.
func (l *loader) loadFunctions() {
	if l.opts.WorkerFunctions != nil {
		l.loadWorkerFunctions()
	} else {
		for _, name := range l.functionFolders() {
			l.app.Functions = append(l.app.Functions, l.loadFunction(name))
		}
	}
	l.applyAllowList()
	l.checkRoutes()
	l.resolveSettings()
	l.applyDisabled()
}

// functionFolders lists the folders under the root that hold a
// function.json, sorted as the host sorts functions (OrdinalIgnoreCase).
func (l *loader) functionFolders() []string {
	entries, err := fs.ReadDir(l.fsys, ".")
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			l.app.Errors = append(l.app.Errors, &funcd.ConfigError{
				Msg:  "Unable to list the function folders: " + err.Error(),
				Hint: "Check that the script root is a readable folder.",
			})
		}
		return nil
	}
	var names []string
	for _, e := range entries {
		if !l.isDir(e) {
			continue
		}
		if _, err := fs.Stat(l.fsys, e.Name()+"/"+functionFile); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		names = append(names, e.Name())
	}
	slices.SortFunc(names, compareFunctionNames)
	return names
}

// isDir reports whether an entry is a folder, following symbolic links.
func (l *loader) isDir(e fs.DirEntry) bool {
	if e.IsDir() {
		return true
	}
	if e.Type()&fs.ModeSymlink == 0 {
		return false
	}
	info, err := fs.Stat(l.fsys, e.Name())
	return err == nil && info.IsDir()
}

// compareFunctionNames orders names as StringComparer.OrdinalIgnoreCase
// does, with ordinal order breaking ties so the result is stable.
func compareFunctionNames(a, b string) int {
	if c := strings.Compare(strings.ToUpper(a), strings.ToUpper(b)); c != 0 {
		return c
	}
	return strings.Compare(a, b)
}

// fnLoader reads one function folder.
type fnLoader struct {
	l    *loader
	fn   *funcd.Function
	root *node
	// bindingNodes holds each binding's JSON object, parallel to
	// fn.Bindings.
	bindingNodes []*node
	// data, when set, is the function's metadata instead of its
	// function.json; worker is set for a function a language worker
	// indexed (its script file is the worker's to know).
	data   []byte
	worker bool
}

// loadFunction reads and validates one function folder. Checks run in the
// host's order and stop after the first stage that found problems, so
// Errors[0] is the error the real host reports for the function.
func (l *loader) loadFunction(name string) *funcd.Function {
	fn := &funcd.Function{Name: name, ConfigFile: name + "/" + functionFile, Config: json.RawMessage("{}")}
	fl := &fnLoader{l: l, fn: fn}
	return fl.run()
}

// run checks the function in stages, stopping at the first that fails. The
// first two stages are what the host's metadata provider reads; a failure
// there makes the function Unreadable.
func (fl *fnLoader) run() *funcd.Function {
	fn := fl.fn
	stages := []func(){fl.read, fl.readMetadata, fl.validateBindings, fl.checkKnownTypes, fl.readHTTPTrigger}
	for i, stage := range stages {
		stage()
		if len(fn.Errors) > 0 {
			fn.Unreadable = i < 2
			break
		}
	}
	fl.l.bindingNodes[fn] = fl.bindingNodes
	return fn
}

// errorAt records a function error at a value.
func (fl *fnLoader) errorAt(at pos, field, msg, hint string) {
	fl.fn.Errors = append(fl.fn.Errors, &funcd.ConfigError{
		File: fl.fn.ConfigFile, Line: at.line, Column: at.col, Field: field, Msg: msg, Hint: hint,
	})
}

// read loads function.json and checks the folder name.
func (fl *fnLoader) read() {
	data, err := fl.data, error(nil)
	if data == nil {
		data, err = fs.ReadFile(fl.l.fsys, fl.fn.ConfigFile)
	}
	if err != nil {
		fl.errorAt(pos{}, "", "Unable to read "+fl.fn.ConfigFile+": "+err.Error(), "Check that function.json is a readable file.")
		return
	}
	root, serr := parseJSON(data)
	if serr == nil && root.kind != kindObject {
		serr = &syntaxError{pos: root.pos, msg: notAnObject(root)}
	}
	if serr == nil {
		fl.root = root
		fl.fn.Config = rawJSON(data, root)
	}
	if !validFunctionName(fl.fn.Name) {
		hint := "Rename the folder: a function name starts with a letter, has at most 128 letters, digits, '_' or '-', and is not 'host'."
		if fl.worker {
			hint = "Rename the function where the app registers it: a function name starts with a letter, has at most 128 letters, digits, '_' or '-', and is not 'host'."
		}
		fl.fn.Errors = append(fl.fn.Errors, &funcd.ConfigError{
			File: fl.fn.ConfigFile,
			Msg:  "'" + fl.fn.Name + "' is not a valid function name.",
			Hint: hint,
		})
		return
	}
	if serr != nil {
		fl.errorAt(serr.pos, "", serr.msg, "function.json must be one JSON object with a \"bindings\" array; fix the syntax at the position shown.")
		return
	}
	fl.readLegacyFlags()
}

func validFunctionName(name string) bool {
	return functionNameRE.MatchString(name) && !strings.EqualFold(name, "host")
}

// readLegacyFlags honours the v1 "disabled" and "excluded" properties,
// which the v4 host no longer reads.
func (fl *fnLoader) readLegacyFlags() {
	if f := fl.root.get("disabled"); f != nil {
		switch v := f.value; {
		case v.kind == kindBool:
			fl.fn.Disabled = v.text == "true"
		case v.kind == kindString:
			// v1 also took the name of an app setting.
			fl.fn.Disabled = v.text == "1" || strings.EqualFold(v.text, "true") || fl.l.settings.enabled(v.text)
		}
	}
	if f := fl.root.get("excluded"); f != nil && f.value.kind == kindBool {
		fl.fn.Excluded = f.value.text == "true"
	}
}

// readMetadata reads what HostFunctionMetadataProvider reads: the bindings
// array, configurationSource, scriptFile and entryPoint.
func (fl *fnLoader) readMetadata() {
	fl.readBindings()
	fl.readConfigurationSource()
	fl.readScriptFile()
	if f := fl.root.get("entryPoint"); f != nil {
		fl.fn.EntryPoint, _ = fl.castString(f, "entryPoint")
	}
	if len(fl.fn.Errors) == 0 {
		fl.readRetry()
	}
}

// readBindings reads "bindings" (a case-sensitive lookup in the host).
func (fl *fnLoader) readBindings() {
	f := fl.root.get("bindings")
	if f == nil || (f.value.kind == kindArray && len(f.value.items) == 0) {
		at, hint := fl.root.pos, `Add a "bindings" array with one trigger, for example [{"type": "httpTrigger", "direction": "in", "name": "req"}].`
		if f != nil {
			at = f.value.pos
		} else if other := fl.root.getFold("bindings"); other != nil {
			at, hint = other.keyPos, `Property names in function.json are case-sensitive: rename "`+other.key+`" to "bindings".`
		}
		fl.errorAt(at, "bindings", "At least one binding must be declared.", hint)
		return
	}
	if f.value.kind != kindArray {
		fl.errorAt(f.value.pos, "bindings", castError(f.value, "JArray"), `"bindings" must be an array of binding objects.`)
		return
	}
	for i, item := range f.value.items {
		field := "bindings[" + strconv.Itoa(i) + "]"
		if item.kind != kindObject {
			fl.errorAt(item.pos, field, castError(item, "JObject"), "Each binding must be an object with type, direction and name.")
			continue
		}
		if b, ok := fl.readBinding(field, item); ok {
			fl.fn.Bindings = append(fl.fn.Bindings, b)
			fl.bindingNodes = append(fl.bindingNodes, item)
		}
	}
}

// castError is .NET's InvalidCastException message for a Json.NET token
// cast to the wrong class.
func castError(n *node, to string) string {
	return "Unable to cast object of type 'Newtonsoft.Json.Linq." + jtokenType(n) + "' to type 'Newtonsoft.Json.Linq." + to + "'."
}

// castString is Json.NET's explicit (string) conversion of a property: any
// scalar converts, objects and arrays fail.
func (fl *fnLoader) castString(f *member, fieldPath string) (string, bool) {
	if f.value.scalar() {
		return f.value.dotnetString(), true
	}
	fl.errorAt(f.value.pos, fieldPath, "Can not convert "+containerName(f.value)+" to String.", "Use a string.")
	return "", false
}

// containerName is Json.NET's JTokenType name of an object or array.
func containerName(n *node) string {
	if n.kind == kindObject {
		return "Object"
	}
	return "Array"
}

// readConfigurationSource checks "configurationSource": "config" or
// "attributes".
func (fl *fnLoader) readConfigurationSource() {
	f := fl.root.getFold("configurationSource")
	if f == nil {
		return
	}
	v := f.value.dotnetString()
	if !f.value.scalar() {
		v = string(rawJSON(nil, f.value))
	}
	if strings.EqualFold(v, "attributes") || strings.EqualFold(v, "config") {
		return
	}
	fl.errorAt(f.value.pos, f.key, "Illegal value '"+v+"' for 'configurationSource' property in "+fl.fn.Name+"'.",
		`Use "config" (or leave the property out).`)
}

// readScriptFile resolves "scriptFile" (which must exist when set) or picks
// the primary script of the folder as the host does.
func (fl *fnLoader) readScriptFile() {
	if fl.worker {
		return
	}
	dir := fl.fn.Name
	if f := fl.root.get("scriptFile"); f != nil {
		sf, ok := fl.castString(f, "scriptFile")
		if !ok {
			return
		}
		if sf == "" {
			fl.primaryScript(dir)
			return
		}
		full := filepath.Join(fl.l.opts.Root, dir, filepath.FromSlash(sf))
		if filepath.IsAbs(sf) {
			full = sf
		}
		if _, inRoot := fl.l.relToRoot(full); inRoot && !fl.l.stat(full) {
			fl.errorAt(f.value.pos, "scriptFile",
				"Invalid script file name configuration. The 'scriptFile' property is set to a file that does not exist.",
				"The path is relative to the function folder ("+dir+"/); fix it or remove the property.")
			return
		}
		fl.fn.ScriptFile = full
		return
	}
	fl.primaryScript(dir)
}

// primaryScript picks the function's script when scriptFile is not set: the
// only file in the folder, or run.*, index.js/.mjs/.cjs or __init__.py. A
// custom handler needs none; otherwise its absence is an error.
func (fl *fnLoader) primaryScript(dir string) {
	entries, _ := fs.ReadDir(fl.l.fsys, dir)
	var files []string
	for _, e := range entries {
		if e.Type().IsRegular() && !strings.EqualFold(e.Name(), functionFile) {
			files = append(files, e.Name())
		}
	}
	primary := ""
	switch {
	case len(files) == 1:
		primary = files[0]
	default:
		for _, name := range files {
			lower := strings.ToLower(name)
			if strings.TrimSuffix(lower, path.Ext(lower)) == "run" ||
				lower == "index.js" || lower == "index.mjs" || lower == "index.cjs" || lower == "__init__.py" {
				primary = name
				break
			}
		}
	}
	if primary != "" {
		fl.fn.ScriptFile = filepath.Join(fl.l.opts.Root, dir, primary)
		return
	}
	if !fl.l.customMode {
		fl.errorAt(fl.root.pos, "scriptFile",
			"Unable to determine the primary function script. Make sure at least one script file is present. Try renaming your entry point script to 'run' or alternatively you can specify the name of the entry point script explicitly by adding a 'scriptFile' property to your function metadata.",
			`Set "scriptFile" in function.json, or configure a customHandler in host.json if a handler program serves the functions.`)
	}
}

// validateBindings applies FunctionDescriptorProvider.ValidateFunction: valid
// and unique names, $return only as output, a type on every binding, and
// exactly one trigger.
func (fl *fnLoader) validateBindings() {
	names := map[string]bool{}
	for i := range fl.fn.Bindings {
		fl.validateBinding(i, names)
	}
	if len(fl.fn.Errors) > 0 {
		return
	}
	fl.checkTrigger()
}

func (fl *fnLoader) validateBinding(i int, names map[string]bool) {
	b, n := &fl.fn.Bindings[i], fl.bindingNodes[i]
	field := "bindings[" + strconv.Itoa(i) + "]"
	nameAt := valuePos(n, "name")
	if !bindingNameRE.MatchString(b.Name) {
		fl.errorAt(nameAt, field+".name", "The binding name "+b.Name+" is invalid. Please assign a valid name to the binding.",
			`A binding name starts with a letter and has at most 128 letters and digits, or is "$return".`)
		return
	}
	if strings.EqualFold(b.Name, "$return") && b.Direction != funcd.Out {
		fl.errorAt(valuePos(n, "direction"), field+".direction", "$return bindings must specify a direction of 'out'.",
			`Set "direction": "out" on the $return binding.`)
		return
	}
	if f := n.getFold("type"); f == nil || f.value.kind == kindNull {
		fl.errorAt(n.pos, field+".type", "Binding '"+b.Name+"' is invalid. Bindings must specify a Type.",
			`Add "type", for example "httpTrigger" or "http".`)
		return
	}
	key := strings.ToLower(b.Name)
	if names[key] {
		fl.errorAt(nameAt, field+".name", "Multiple bindings with name '"+b.Name+"' discovered. Binding names must be unique.",
			"Rename one of the bindings (names compare case-insensitively).")
		return
	}
	names[key] = true
}

// valuePos is the position of property key's value in a binding, or of the
// binding itself when the property is absent.
func valuePos(n *node, key string) pos {
	if f := n.getFold(key); f != nil {
		return f.value.pos
	}
	return n.pos
}

// isTriggerBinding is the host's trigger test: an input (or inout) binding
// whose type ends in "Trigger".
func isTriggerBinding(b *funcd.Binding) bool {
	return b.Direction != funcd.Out && b.IsTrigger()
}

func (fl *fnLoader) checkTrigger() {
	first := -1
	for i := range fl.fn.Bindings {
		if !isTriggerBinding(&fl.fn.Bindings[i]) {
			continue
		}
		if first >= 0 {
			fl.errorAt(valuePos(fl.bindingNodes[i], "type"), "bindings["+strconv.Itoa(i)+"].type",
				"Multiple trigger bindings defined. A function can only have a single trigger binding.",
				"Keep one trigger; read other sources with input bindings (types without \"Trigger\").")
			return
		}
		first = i
	}
	if first < 0 {
		msg := "No trigger binding specified. A function must have a trigger input binding."
		if i, s := fl.misspeltTrigger(); s != "" {
			fl.errorAt(valuePos(fl.bindingNodes[i], "type"), "bindings["+strconv.Itoa(i)+"].type",
				msg+" Did you mean '"+s+"'?", `Change "type" to "`+s+`".`)
			return
		}
		fl.errorAt(fl.root.get("bindings").value.pos, "bindings", msg,
			`Add a binding whose type ends in "Trigger" with "direction": "in", for example {"type": "httpTrigger", "direction": "in", "name": "req"}.`)
	}
}

// misspeltTrigger finds an input binding whose type looks like a misspelt
// trigger type ("httpTriger"), which is why the function has no trigger. It
// returns the binding's index and the trigger type, or "" if there is none.
func (fl *fnLoader) misspeltTrigger() (int, string) {
	for i := range fl.fn.Bindings {
		b := &fl.fn.Bindings[i]
		if b.Direction == funcd.Out {
			continue
		}
		if s := SuggestBindingType(b.Type); s != "" && strings.HasSuffix(s, "Trigger") {
			return i, s
		}
	}
	return 0, ""
}

// checkKnownTypes reports binding types that no extension registers.
func (fl *fnLoader) checkKnownTypes() {
	known := fl.l.opts.KnownBindings
	if known == nil {
		return
	}
	var unknown []string
	at, field := pos{}, ""
	for i, b := range fl.fn.Bindings {
		if known(b.Type) || slices.Contains(unknown, b.Type) {
			continue
		}
		if unknown == nil {
			at, field = valuePos(fl.bindingNodes[i], "type"), "bindings["+strconv.Itoa(i)+"].type"
		}
		unknown = append(unknown, b.Type)
	}
	if unknown == nil {
		return
	}
	types := strings.Join(unknown, ", ")
	if !slices.ContainsFunc(unknown, func(t string) bool { return !isBindingType(t) }) {
		// Every type is a real binding funcd has no implementation of yet:
		// saying it is misspelt or missing from the bundle would mislead.
		fl.errorAt(at, field, "The binding type(s) '"+types+"' are Azure Functions bindings that funcd does not run yet, so this function is left out; the rest of the app runs.",
			"funcd runs HTTP-triggered functions (httpTrigger with an http output) for now; `funcd doctor` lists what it supports.")
		return
	}
	msg := "The binding type(s) '" + types + "' are not registered. Please ensure the type is correct and the binding extension is installed."
	if b := fl.l.app.Host.ExtensionBundle; b != nil && b.ID != "" && b.Version != "" {
		msg = "The binding type(s) '" + types + "' were not found in the configured extension bundle. Please ensure the type is correct and the correct version of extension bundle is configured"
	}
	hint := "Check the spelling of the type; funcd supports the binding types listed by `funcd doctor`."
	if fixes := suggestions(unknown); fixes != "" {
		if !strings.HasSuffix(msg, ".") {
			msg += "."
		}
		msg += " Did you mean " + fixes + "?"
		hint = "Fix the spelling of the type (types are case-insensitive)."
	}
	fl.errorAt(at, field, msg, hint)
}

// suggestions phrases the known types that misspelt types were meant to be:
// "'httpTrigger'" for one type, "'httpTrigger' for 'httpTriger', 'http' for
// 'htp'" for several; "" when none looks misspelt.
func suggestions(types []string) string {
	var fixes []string
	for _, t := range types {
		if s := SuggestBindingType(t); s != "" {
			fixes = append(fixes, "'"+s+"' for '"+t+"'")
		}
	}
	if len(types) == 1 && len(fixes) == 1 {
		return "'" + SuggestBindingType(types[0]) + "'"
	}
	return strings.Join(fixes, ", ")
}
