package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/spf13/cobra"
)

// version is funcd's own version, set at build time with
// -ldflags "-X main.version=...".
var version = "0.1.0-dev"

// globals are the flags every command takes, as Core Tools' global flags,
// and what the command runs with.
type globals struct {
	verbose    bool
	scriptRoot string
	logFormat  string
	stdin      io.Reader
	stdout     io.Writer
	stderr     io.Writer

	stdoutTerminal bool // the banner may show function keys
	stderrTerminal bool // logs default to the console format, in colour
	getenv         func(string) string
}

// root returns the funcd command tree.
func root(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:           "funcd",
		Short:         "Run Azure Functions apps anywhere, with no Azure account",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	cmd.SetOut(g.stdout)
	cmd.SetErr(g.stderr)
	pf := cmd.PersistentFlags()
	pf.BoolVar(&g.verbose, "verbose", false, "print more: the effective configuration and debug logs")
	pf.StringVar(&g.scriptRoot, "script-root", "", "the function app's folder (default: the current folder)")
	pf.StringVar(&g.scriptRoot, "prefix", "", "alias of --script-root")
	_ = pf.MarkHidden("prefix")
	pf.StringVar(&g.logFormat, "log-format", logAuto, "log format: console (for a person; colour unless NO_COLOR is set), json (one JSON object a line), text (key=value), or auto: console when stderr is a terminal, else json")
	cmd.PersistentPreRunE = func(*cobra.Command, []string) error {
		switch g.logFormat {
		case logAuto, logConsole, logJSON, logText:
			return nil
		}
		return fmt.Errorf("--log-format %q: want auto, console, json or text", g.logFormat)
	}
	cmd.AddCommand(startCommand(g), versionCommand(g), initCommand(g), newCommand(g), doctorCommand(g), keysCommand(g),
		queueCommand(g), blobCommand(g), durableCommand(g))
	return cmd
}

// run executes the CLI and returns the process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return runWithInput(ctx, args, os.Stdin, stdout, stderr)
}

// runWithInput is run with the given standard input.
func runWithInput(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	g := &globals{
		stdin:          stdin,
		stdout:         stdout,
		stderr:         stderr,
		stdoutTerminal: writesToTerminal(stdout),
		stderrTerminal: writesToTerminal(stderr),
		getenv:         os.Getenv,
	}
	cmd := root(g)
	cmd.SetArgs(joinBoolValues(args))
	if err := cmd.ExecuteContext(ctx); err != nil {
		if errors.Is(err, errSilent) {
			return 1
		}
		fmt.Fprintln(stderr, "Error:", err)
		return 1
	}
	return 0
}

// errSilent is returned by commands that already told the user what failed.
var errSilent = errors.New("failed")

// appRoot returns the script root: --script-root, or the current folder.
func (g *globals) appRoot() (string, error) {
	if g.scriptRoot != "" {
		return g.scriptRoot, nil
	}
	return os.Getwd()
}

// Log formats of --log-format.
const (
	logAuto    = "auto"
	logConsole = "console"
	logJSON    = "json"
	logText    = "text"
)

// writesToTerminal reports whether w is a terminal.
func writesToTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && isTerminal(f)
}

// logger returns the logger commands write to: stderr, at debug level with
// --verbose, in the --log-format format.
func (g *globals) logger() *slog.Logger { return g.loggerTo(g.stderr) }

// loggerTo is logger writing to w, which stands for stderr.
func (g *globals) loggerTo(w io.Writer) *slog.Logger {
	level := slog.LevelInfo
	if g.verbose {
		level = slog.LevelDebug
	}
	opts := &slog.HandlerOptions{Level: level}
	switch g.format() {
	case logJSON:
		return slog.New(slog.NewJSONHandler(w, opts))
	case logText:
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(newConsoleHandler(w, level, g.color()))
}

// format resolves --log-format auto: the console format for a person at a
// terminal, JSON for a log collector.
func (g *globals) format() string {
	if g.logFormat != logAuto && g.logFormat != "" {
		return g.logFormat
	}
	if g.stderrTerminal {
		return logConsole
	}
	return logJSON
}

// color reports whether console logs are coloured: on a terminal, unless
// NO_COLOR is set to anything (no-color.org) or TERM is dumb.
func (g *globals) color() bool {
	getenv := g.getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	return g.stderrTerminal && getenv("NO_COLOR") == "" && getenv("TERM") != "dumb"
}

func versionCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print funcd's version and the Functions host version it reproduces",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintf(g.stdout, "funcd %s (Azure Functions host %s)\n", version, hostVersion())
			return nil
		},
	}
}
