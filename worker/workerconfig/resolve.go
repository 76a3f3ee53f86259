package workerconfig

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/funcd/funcd"
)

// Options say where to look for workers and with which settings.
type Options struct {
	// AppRoot is the app's folder (AzureWebJobsScriptRoot), absolute.
	AppRoot string
	// Folders are folders of worker folders (each subfolder holding a
	// worker.config.json), searched in order after the ones the settings
	// name. funcd's own workers folder goes here.
	Folders []string
	// Settings are the app's settings and the environment.
	Settings Settings
	// GOOS and GOARCH are the platform ("" for the running one).
	GOOS, GOARCH string
	// HostVersion is what a profile's hostProperty HostVersion condition
	// matches.
	HostVersion string
	// CPUCount is the core count for setProcessCountToNumberOfCpuCores (0
	// for runtime.NumCPU()).
	CPUCount int
}

func (o *Options) goos() string {
	if o.GOOS != "" {
		return o.GOOS
	}
	return runtime.GOOS
}

func (o *Options) goarch() string {
	if o.GOARCH != "" {
		return o.GOARCH
	}
	return runtime.GOARCH
}

// Worker is the language worker FUNCTIONS_WORKER_RUNTIME selected, resolved.
type Worker struct {
	// Source is the worker.config.json it came from, or "" for funcd's
	// built-in golang description.
	Source string
	// Dir is the worker's folder.
	Dir string
	// Description is the description after its profile, the
	// languageWorkers:<language>:... settings and the placeholders.
	Description Description
	// Profile is the name of the profile applied, or "".
	Profile string
	// ProcessOptions are the file's, with FUNCTIONS_WORKER_PROCESS_COUNT
	// applied.
	ProcessOptions ProcessOptions
	// Command starts the worker, without the gRPC flags.
	Command Command
	// Warnings are the host's warnings about the description (a runtime
	// version below minimumSupportedRuntimeVersion), to log.
	Warnings []string
}

// Command is how to start a worker process. The launcher appends the gRPC
// flags to Args: --host, --port, --workerId, --requestId,
// --grpcMaxMessageLength, then --functions-uri, --functions-worker-id,
// --functions-request-id, --functions-grpc-max-message-length.
type Command struct {
	// Path is the executable: an absolute path, or a bare name ("node",
	// "python") the launcher looks up in PATH.
	Path string
	// Args are the arguments after the executable: the description's
	// arguments (an entry with spaces splits into several, as the host's
	// command line does), the languageWorkers:<language>:arguments setting,
	// then the worker path.
	Args []string
	// Dir is the working directory: executableWorkingDirectory, else the
	// app's folder.
	Dir string
	// Env are the variables the host adds to the worker's environment
	// (KEY=VALUE): FUNCTIONS_WORKER_DIRECTORY,
	// FUNCTIONS_APPLICATION_DIRECTORY, FUNCTIONS_WORKER_RUNTIME_VERSION, and
	// the default concurrency of Python and PowerShell workers.
	Env []string
}

// ErrNotLanguageWorker is returned by Resolve for a FUNCTIONS_WORKER_RUNTIME
// that no worker.config.json serves: "custom" (a custom handler).
var ErrNotLanguageWorker = errors.New("not a language worker")

// Resolve finds the worker FUNCTIONS_WORKER_RUNTIME names and builds its
// command line. Errors are *funcd.ConfigError values, except
// ErrNotLanguageWorker (wrapped) for a custom handler app.
func Resolve(opts Options) (*Worker, error) {
	lang := strings.TrimSpace(opts.Settings.Value(RuntimeSetting))
	switch {
	case lang == "":
		return nil, &funcd.ConfigError{Field: RuntimeSetting,
			Msg:  RuntimeSetting + " is not set; it names the app's language worker",
			Hint: "Set " + RuntimeSetting + " in local.settings.json (\"node\", \"python\", \"java\", \"powershell\", \"dotnet-isolated\", \"golang\", or \"custom\" for a custom handler)."}
	case strings.EqualFold(lang, "custom"):
		return nil, fmt.Errorf("%s=%s: %w", RuntimeSetting, lang, ErrNotLanguageWorker)
	case strings.EqualFold(lang, "dotnet"):
		return nil, &funcd.ConfigError{Field: RuntimeSetting,
			Msg:  RuntimeSetting + " is 'dotnet': in-process .NET functions run inside the Functions host itself, not in a language worker",
			Hint: "Move the app to the isolated worker model (FUNCTIONS_WORKER_RUNTIME=dotnet-isolated)."}
	}
	s := &search{opts: opts, lang: lang}
	return s.find()
}

// search is one Resolve.
type search struct {
	opts     Options
	lang     string
	searched []string // where it looked, for the not-found error
	problems []string // files it skipped, and why
	warnings []string // for Worker.Warnings
}

func (s *search) find() (*Worker, error) {
	// 1. languageWorkers:<language>:workerDirectory replaces every other
	// description of the language.
	if dir, ok := s.opts.Settings.languageSetting(s.lang, "workerDirectory"); ok && dir != "" {
		dir = s.absolute(dir)
		field := LanguageWorkersSection + ":" + s.lang + ":workerDirectory"
		cfg, err := s.read(filepath.Join(dir, FileName), dir, true)
		if err != nil {
			return nil, err
		}
		if cfg == nil {
			return nil, &funcd.ConfigError{Field: field, Msg: fmt.Sprintf("names %s, which has no %s", dir, FileName)}
		}
		if w, err := s.use(cfg); w != nil || err != nil {
			return w, err
		}
		if !strings.EqualFold(cfg.Description.Language, s.lang) {
			return nil, &funcd.ConfigError{Field: field,
				Msg: fmt.Sprintf("names %s, whose %s is for language %q, not %q", dir, FileName, cfg.Description.Language, s.lang)}
		}
	}
	// 2. The app's own worker.config.json.
	if s.opts.AppRoot != "" {
		cfg, err := s.read(filepath.Join(s.opts.AppRoot, FileName), s.opts.AppRoot, true)
		if err != nil {
			return nil, err
		}
		if cfg != nil {
			if w, err := s.use(cfg); w != nil || err != nil {
				return w, err
			}
			if !strings.EqualFold(cfg.Description.Language, s.lang) {
				s.problems = append(s.problems, fmt.Sprintf("The app's %s is for %q, not %q.", FileName, cfg.Description.Language, s.lang))
			}
		}
	}
	// 3. Folders of worker folders: the settings', then the caller's.
	for _, folder := range s.folders() {
		if w, err := s.scan(folder); w != nil || err != nil {
			return w, err
		}
	}
	// 4. The built-in golang description.
	if strings.EqualFold(s.lang, GolangLanguage) {
		cfg := Golang(s.opts.goos(), strings.TrimSpace(s.opts.Settings.Value(AppBinarySetting)))
		cfg.Dir = s.opts.AppRoot
		return s.use(cfg)
	}
	return nil, s.notFound()
}

// folders are the folders of worker folders: the settings', then the
// caller's.
func (s *search) folders() []string {
	var folders []string
	for _, key := range []string{WorkersDirSetting, LanguageWorkersSection + ":workersDirectory"} {
		if v := s.opts.Settings.Value(key); v != "" {
			folders = append(folders, s.absolute(v))
		}
	}
	return append(folders, s.opts.Folders...)
}

// absolute resolves a folder a setting names against the app's folder.
func (s *search) absolute(p string) string {
	if filepath.IsAbs(p) || s.opts.AppRoot == "" {
		return filepath.Clean(p)
	}
	return filepath.Join(s.opts.AppRoot, p)
}

// read parses path, or returns nil if there is no such file. A file that
// does not parse is an error when strict or in the folder named after the
// language; another one is a problem to mention if nothing is found.
func (s *search) read(path, dir string, strict bool) (*Config, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err == nil {
		var cfg *Config
		if cfg, err = Parse(path, dir, data); err == nil {
			return cfg, nil
		}
	} else {
		err = &funcd.ConfigError{File: path, Msg: "cannot read the file: " + err.Error()}
	}
	if strict || folderLanguage(dir, s.lang) {
		return nil, err
	}
	s.problems = append(s.problems, err.Error())
	return nil, nil
}

func folderLanguage(dir, lang string) bool { return strings.EqualFold(filepath.Base(dir), lang) }

// scan looks through the worker folders in folder: the one named after the
// language first, then the others in name order.
func (s *search) scan(folder string) (*Worker, error) {
	s.searched = append(s.searched, folder)
	entries, err := os.ReadDir(folder)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			s.problems = append(s.problems, fmt.Sprintf("%s: %v", folder, err))
		}
		return nil, nil
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			names = append(names, e.Name())
		} else if info, err := os.Stat(filepath.Join(folder, e.Name())); err == nil && info.IsDir() {
			names = append(names, e.Name()) // a link to a folder
		}
	}
	slices.SortStableFunc(names, func(a, b string) int {
		am, bm := strings.EqualFold(a, s.lang), strings.EqualFold(b, s.lang)
		switch {
		case am && !bm:
			return -1
		case bm && !am:
			return 1
		}
		return strings.Compare(a, b)
	})
	for _, name := range names {
		dir := filepath.Join(folder, name)
		cfg, err := s.read(filepath.Join(dir, FileName), dir, false)
		if err != nil {
			return nil, err
		}
		if cfg == nil {
			continue
		}
		if w, err := s.use(cfg); w != nil || err != nil {
			return w, err
		}
	}
	return nil, nil
}

// use resolves cfg if it serves the language; nil, nil if it does not (or is
// disabled).
func (s *search) use(cfg *Config) (*Worker, error) {
	d := cfg.Description
	w := &Worker{Source: cfg.File, Dir: cfg.Dir, ProcessOptions: cfg.ProcessOptions}
	// The profile, then the settings, as the host applies them.
	for _, p := range cfg.Profiles {
		if s.holds(p.Conditions) {
			p.apply(&d)
			w.Profile = p.Name
			break
		}
	}
	if !strings.EqualFold(d.Language, s.lang) {
		return nil, nil
	}
	if d.IsDisabled {
		s.problems = append(s.problems, fmt.Sprintf("%s: the worker for %s is disabled (isDisabled)", cfg.File, d.Language))
		return nil, nil
	}
	if err := s.resolve(w, &d); err != nil {
		if err.File == "" && (strings.HasPrefix(err.Field, "description.") || strings.HasPrefix(err.Field, "processOptions.")) {
			err.File = cfg.File
		}
		return nil, err
	}
	w.Description = d
	w.Warnings = s.warnings
	return w, nil
}

// parseVersion reads a .NET Version: two to four dot-separated whole
// numbers. Missing components compare as -1, as .NET's do.
func parseVersion(v string) ([]int, bool) {
	parts := strings.Split(strings.TrimSpace(v), ".")
	if len(parts) < 2 || len(parts) > 4 {
		return nil, false
	}
	out := []int{-1, -1, -1, -1}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || strings.ContainsAny(p, "+-") {
			return nil, false
		}
		out[i] = n
	}
	return out, true
}

// holds evaluates a profile's conditions: all must hold.
func (s *search) holds(conds []Condition) bool {
	for _, c := range conds {
		var value string
		switch c.Type {
		case "environment":
			value = s.opts.Settings[c.Name]
		case "hostProperty":
			switch strings.ToLower(c.Name) {
			case "sku":
				value = s.opts.Settings["WEBSITE_SKU"]
			case "platform":
				value = osName(s.opts.goos())
			case "hostversion":
				value = s.opts.HostVersion
			}
		default:
			return false // the host's FalseCondition for a type it does not know
		}
		if value == "" || c.Expression == "" {
			return false
		}
		re, err := regexp.Compile(c.Expression)
		if err != nil || !re.MatchString(value) {
			return false
		}
	}
	return true
}

// apply overrides d with what the profile gives: the host's ApplyProfile
// takes the arguments, executable, worker path, extensions, language and
// isDisabled from a profile.
func (p *Profile) apply(d *Description) {
	pd := &p.Description
	if p.set["arguments"] {
		d.Arguments = pd.Arguments
	}
	if p.set["defaultExecutablePath"] {
		d.DefaultExecutablePath = pd.DefaultExecutablePath
	}
	if p.set["defaultWorkerPath"] {
		d.DefaultWorkerPath = pd.DefaultWorkerPath
	}
	if p.set["extensions"] {
		d.Extensions = pd.Extensions
	}
	if p.set["language"] {
		d.Language = pd.Language
	}
	if p.set["isDisabled"] {
		d.IsDisabled = pd.IsDisabled
	}
}

// resolve applies the settings and placeholders to d and builds the command,
// in the host's order.
func (s *search) resolve(w *Worker, d *Description) *funcd.ConfigError {
	settings := s.opts.Settings
	setting := func(name string) string { return LanguageWorkersSection + ":" + d.Language + ":" + name }
	// languageWorkers:<language>:... settings.
	if v, ok := settings.languageSetting(d.Language, "defaultExecutablePath"); ok {
		d.DefaultExecutablePath = v
	}
	if v, ok := settings.languageSetting(d.Language, "defaultWorkerPath"); ok {
		d.DefaultWorkerPath = v // funcd's; the host has no such setting
	}
	if v, ok := settings.languageSetting(d.Language, "defaultRuntimeVersion"); ok {
		d.DefaultRuntimeVersion = v
	}
	d.Arguments = slices.Clone(d.Arguments)
	if v, ok := settings.languageSetting(d.Language, "arguments"); ok {
		d.Arguments = append(d.Arguments, splitSettingArguments(v)...)
	}
	if d.DefaultExecutablePath == "" {
		return &funcd.ConfigError{Field: setting("defaultExecutablePath"), Msg: "WorkerDescription DefaultExecutablePath cannot be empty"}
	}
	// {AzureWebJobsScriptRoot}, funcd's reading of the Go worker's file.
	root := s.opts.AppRoot
	d.DefaultExecutablePath = strings.ReplaceAll(d.DefaultExecutablePath, ScriptRootPlaceholder, root)
	d.DefaultWorkerPath = strings.ReplaceAll(d.DefaultWorkerPath, ScriptRootPlaceholder, root)
	d.ExecutableWorkingDirectory = strings.ReplaceAll(d.ExecutableWorkingDirectory, ScriptRootPlaceholder, root)
	for i := range d.Arguments {
		d.Arguments[i] = strings.ReplaceAll(d.Arguments[i], ScriptRootPlaceholder, root)
	}
	// A relative worker path is in the worker's folder.
	if d.DefaultWorkerPath != "" && !filepath.IsAbs(d.DefaultWorkerPath) {
		d.DefaultWorkerPath = filepath.Join(w.Dir, d.DefaultWorkerPath)
	}
	if d.DefaultWorkerPath != "" {
		if err := s.formatWorkerPath(d); err != nil {
			return err
		}
	}
	d.ExecutableWorkingDirectory = strings.ReplaceAll(d.ExecutableWorkingDirectory, WorkerDirectoryPlaceholder, w.Dir)
	for i := range d.Arguments {
		d.Arguments[i] = strings.ReplaceAll(d.Arguments[i], WorkerDirectoryPlaceholder, w.Dir)
	}
	if d.DefaultWorkerPath != "" {
		if _, err := os.Stat(d.DefaultWorkerPath); err != nil {
			return &funcd.ConfigError{Field: "description.defaultWorkerPath",
				Msg: fmt.Sprintf("File DefaultWorkerPath: %s does not exist.", d.DefaultWorkerPath)}
		}
	}
	env := func(key string) (string, bool) { v, ok := settings[key]; return v, ok }
	d.DefaultWorkerPath = expandEnv(d.DefaultWorkerPath, env)
	d.DefaultExecutablePath = expandEnv(d.DefaultExecutablePath, env)

	if err := s.processCount(&w.ProcessOptions); err != nil {
		return err
	}
	return s.command(w, d)
}

// formatWorkerPath fills {os}, {architecture} and
// %FUNCTIONS_WORKER_RUNTIME_VERSION% in the worker path, checking each
// against the description's supported lists first.
func (s *search) formatWorkerPath(d *Description) *funcd.ConfigError {
	if v := s.opts.Settings.Value(RuntimeVersionSetting); v != "" {
		if d.SanitizeRuntimeVersionRegex != "" {
			re, err := regexp.Compile(d.SanitizeRuntimeVersionRegex)
			if err != nil {
				return &funcd.ConfigError{Field: "description.sanitizeRuntimeVersionRegex", Msg: "is not a regular expression funcd can run: " + err.Error()}
			}
			if !re.MatchString(v) {
				return &funcd.ConfigError{Field: RuntimeVersionSetting,
					Msg: fmt.Sprintf("Version %s for language %s does not match the regular expression '%s'", v, d.Language, d.SanitizeRuntimeVersionRegex)}
			}
			v = re.FindString(v)
		}
		d.DefaultRuntimeVersion = v
	}
	if d.MinimumSupportedRuntimeVersion != "" && d.DefaultRuntimeVersion != "" {
		cur, ok1 := parseVersion(d.DefaultRuntimeVersion)
		low, ok2 := parseVersion(d.MinimumSupportedRuntimeVersion)
		switch {
		case !ok1 || !ok2:
			s.warnings = append(s.warnings, fmt.Sprintf("Could not parse runtime version(s): '%s' or '%s' for language '%s'.",
				d.DefaultRuntimeVersion, d.MinimumSupportedRuntimeVersion, d.Language))
		case slices.Compare(cur, low) < 0:
			s.warnings = append(s.warnings, fmt.Sprintf("The configured runtime version '%s' for language '%s' is lower than the minimum supported version '%s'. "+
				"Please update to a supported version. Visit aka.ms/supported-language-versions for more information.",
				d.DefaultRuntimeVersion, d.Language, d.MinimumSupportedRuntimeVersion))
		}
	}
	p := d.DefaultWorkerPath
	osn, arch := osName(s.opts.goos()), archName(s.opts.goarch())
	if strings.Contains(p, OSPlaceholder) && !containsFold(d.SupportedOperatingSystems, osn) {
		return &funcd.ConfigError{Field: "description.supportedOperatingSystems",
			Msg:  fmt.Sprintf("OS %s is not supported for language %s", osn, d.Language),
			Hint: "The worker's files for this platform are missing: install a build of the worker for " + osn + "."}
	}
	if strings.Contains(p, ArchitecturePlaceholder) && !containsFold(d.SupportedArchitectures, arch) {
		return &funcd.ConfigError{Field: "description.supportedArchitectures",
			Msg: fmt.Sprintf("Architecture %s is not supported for language %s", arch, d.Language)}
	}
	if strings.Contains(p, RuntimeVersionPlaceholder) && d.DefaultRuntimeVersion != "" && !containsFold(d.SupportedRuntimeVersions, d.DefaultRuntimeVersion) {
		return &funcd.ConfigError{Field: RuntimeVersionSetting,
			Msg:  fmt.Sprintf("Version %s is not supported for language %s", d.DefaultRuntimeVersion, d.Language),
			Hint: "Supported versions: " + strings.Join(d.SupportedRuntimeVersions, ", ") + "."}
	}
	p = strings.ReplaceAll(p, OSPlaceholder, osn)
	p = strings.ReplaceAll(p, ArchitecturePlaceholder, arch)
	d.DefaultWorkerPath = strings.ReplaceAll(p, RuntimeVersionPlaceholder, d.DefaultRuntimeVersion)
	return nil
}

func containsFold(list []string, s string) bool {
	return slices.ContainsFunc(list, func(v string) bool { return strings.EqualFold(v, s) })
}

// osName is .NET's OSPlatform name of a GOOS.
func osName(goos string) string {
	switch goos {
	case "linux", "android":
		return "LINUX"
	case "darwin", "ios":
		return "OSX"
	case "windows":
		return "WINDOWS"
	}
	return strings.ToUpper(goos)
}

// archName is .NET's Architecture name of a GOARCH.
func archName(goarch string) string {
	switch goarch {
	case "amd64":
		return "X64"
	case "386":
		return "X86"
	case "arm64":
		return "Arm64"
	case "arm":
		return "Arm"
	case "wasm":
		return "Wasm"
	case "s390x":
		return "S390x"
	case "loong64":
		return "LoongArch64"
	case "ppc64le":
		return "Ppc64le"
	case "riscv64":
		return "RiscV64"
	}
	return goarch
}

// processCount applies setProcessCountToNumberOfCpuCores and
// FUNCTIONS_WORKER_PROCESS_COUNT, then checks the counts again.
func (s *search) processCount(po *ProcessOptions) *funcd.ConfigError {
	if po.SetProcessCountToNumberOfCpuCores {
		n := s.opts.CPUCount
		if n <= 0 {
			n = runtime.NumCPU()
		}
		po.ProcessCount = n
		po.MaxProcessCount = max(po.MaxProcessCount, n)
	}
	if v := s.opts.Settings.Value(ProcessCountSetting); v != "" {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 32)
		if err != nil {
			return &funcd.ConfigError{Field: ProcessCountSetting, Msg: fmt.Sprintf("'%s' is not a whole number", v)}
		}
		po.ProcessCount = max(int(n), 1)
	}
	if err := po.check(); err != nil {
		if po.ProcessCount > po.MaxProcessCount && s.opts.Settings.Value(ProcessCountSetting) != "" {
			err.Field = ProcessCountSetting
		}
		return err
	}
	return nil
}

// command builds w.Command from the resolved description as the host's
// process factory does: it joins the arguments and the quoted worker path
// into one command line, fills %VARIABLE%s, drops the ones still unset, and
// the process start splits the line again.
func (s *search) command(w *Worker, d *Description) *funcd.ConfigError {
	workerEnv := []struct{ key, value string }{
		{WorkerDirectoryEnv, w.Dir},
		{ApplicationDirectoryEnv, s.opts.AppRoot},
		{RuntimeVersionSetting, s.opts.Settings.Value(RuntimeVersionSetting)},
	}
	env := func(key string) (string, bool) { v, ok := s.opts.Settings[key]; return v, ok }
	var line strings.Builder
	for _, a := range d.Arguments {
		line.WriteString(" " + expandEnv(a, env))
	}
	if d.DefaultWorkerPath != "" {
		line.WriteString(` "` + d.DefaultWorkerPath + `"`)
	}
	args, path := line.String(), d.DefaultExecutablePath
	for _, e := range workerEnv {
		args = strings.ReplaceAll(args, "%"+e.key+"%", e.value)
		path = strings.ReplaceAll(path, "%"+e.key+"%", e.value)
	}
	args = unsetVariable.ReplaceAllString(args, "")

	if !filepath.IsAbs(path) && strings.ContainsAny(path, `/\`) {
		path = filepath.Join(w.Dir, path) // funcd's rule: relative to the worker's folder
	}
	if filepath.IsAbs(path) {
		if info, err := os.Stat(path); err != nil || info.IsDir() {
			e := &funcd.ConfigError{Field: "description.defaultExecutablePath",
				Msg: fmt.Sprintf("the executable %s does not exist", path)}
			if strings.EqualFold(d.Language, GolangLanguage) {
				e.Hint = "Build the app first: go build -o " + filepath.Base(path) + " . (in " + s.opts.AppRoot + "), or name the binary with " + AppBinarySetting + "."
			}
			return e
		}
	}
	dir := d.ExecutableWorkingDirectory
	if dir == "" {
		dir = s.opts.AppRoot
	} else if !filepath.IsAbs(dir) {
		dir = filepath.Join(s.opts.AppRoot, dir)
	}
	cmd := Command{Path: path, Args: splitCommandLine(args), Dir: dir}
	for _, e := range workerEnv {
		cmd.Env = append(cmd.Env, e.key+"="+e.value)
	}
	// The host's default concurrency for Python and PowerShell workers.
	for _, c := range []struct{ lang, key string }{{"python", "PYTHON_THREADPOOL_THREAD_COUNT"}, {"powershell", "PSWorkerInProcConcurrencyUpperBound"}} {
		if strings.EqualFold(s.lang, c.lang) && s.opts.Settings[c.key] == "" {
			cmd.Env = append(cmd.Env, c.key+"=1000")
		}
	}
	w.Command = cmd
	return nil
}

// unsetVariable is a %NAME% left after expansion; the host removes it.
var unsetVariable = regexp.MustCompile(`%(.+?)%`)

func (s *search) notFound() *funcd.ConfigError {
	e := &funcd.ConfigError{Field: RuntimeSetting, Msg: fmt.Sprintf("WorkerConfig for runtime: %s not found", s.lang)}
	var hint []string
	if len(s.searched) > 0 {
		hint = append(hint, "No "+FileName+" with \"language\": \""+s.lang+"\" in "+strings.Join(s.searched, ", ")+
			" (a folder per worker, each with its "+FileName+").")
	} else {
		hint = append(hint, "No workers folder to search: name one with "+WorkersDirSetting+".")
	}
	hint = append(hint, s.problems...)
	e.Hint = strings.Join(hint, " ")
	return e
}

// expandEnv is .NET's Environment.ExpandEnvironmentVariables: %NAME% becomes
// the variable's value when it is set and stays as it is otherwise.
func expandEnv(s string, lookup func(string) (string, bool)) string {
	var b strings.Builder
	last := 0
	for last < len(s) {
		pos := strings.IndexByte(s[last+1:], '%')
		if pos < 0 {
			break
		}
		pos += last + 1
		if s[last] == '%' {
			if v, ok := lookup(s[last+1 : pos]); ok {
				b.WriteString(v)
				last = pos + 1
				continue
			}
		}
		b.WriteString(s[last:pos])
		last = pos
	}
	b.WriteString(s[last:])
	return b.String()
}

// splitCommandLine splits a command line into arguments as .NET's process
// start does on Unix: spaces and tabs separate arguments outside double
// quotes; 2n backslashes before a quote are n backslashes and the quote
// opens or closes quoting, 2n+1 are n and a literal quote; "" inside quotes
// is a literal quote; other backslashes are literal.
func splitCommandLine(s string) []string {
	var out []string
	i := 0
	for i < len(s) {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
		if i == len(s) {
			break
		}
		var arg strings.Builder
		quoted := false
		for i < len(s) {
			n := 0
			for i < len(s) && s[i] == '\\' {
				i++
				n++
			}
			if n > 0 {
				if i >= len(s) || s[i] != '"' {
					arg.WriteString(strings.Repeat(`\`, n))
				} else {
					arg.WriteString(strings.Repeat(`\`, n/2))
					if n%2 == 1 {
						arg.WriteByte('"')
						i++
					}
				}
				continue
			}
			c := s[i]
			if c == '"' {
				if quoted && i+1 < len(s) && s[i+1] == '"' {
					arg.WriteByte('"')
					i++
				} else {
					quoted = !quoted
				}
				i++
				continue
			}
			if (c == ' ' || c == '\t') && !quoted {
				break
			}
			arg.WriteByte(c)
			i++
		}
		out = append(out, arg.String())
	}
	return out
}

// Discover lists every worker.config.json in the places Resolve searches,
// whatever its language, in search order, with the files that do not parse
// (for funcd doctor). The built-in golang description is not listed.
func Discover(opts Options) ([]*Config, []error) {
	s := &search{opts: opts}
	var found []*Config
	var problems []error
	add := func(path, dir string) {
		data, err := os.ReadFile(path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return
		case err != nil:
			problems = append(problems, &funcd.ConfigError{File: path, Msg: "cannot read the file: " + err.Error()})
			return
		}
		cfg, err := Parse(path, dir, data)
		if err != nil {
			problems = append(problems, err)
			return
		}
		found = append(found, cfg)
	}
	var dirs []string
	for k, v := range opts.Settings {
		parts := strings.Split(normalizeKey(k), ":")
		if len(parts) == 3 && parts[0] == strings.ToUpper(LanguageWorkersSection) && parts[2] == "WORKERDIRECTORY" && v != "" {
			dirs = append(dirs, s.absolute(v))
		}
	}
	slices.Sort(dirs)
	if opts.AppRoot != "" {
		dirs = append(dirs, opts.AppRoot)
	}
	for _, dir := range slices.Compact(dirs) {
		add(filepath.Join(dir, FileName), dir)
	}
	for _, folder := range s.folders() {
		entries, err := os.ReadDir(folder)
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				problems = append(problems, err)
			}
			continue
		}
		for _, e := range entries {
			dir := filepath.Join(folder, e.Name())
			if info, err := os.Stat(dir); err == nil && info.IsDir() {
				add(filepath.Join(dir, FileName), dir)
			}
		}
	}
	return found, problems
}
