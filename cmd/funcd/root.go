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

// globals are the flags every command takes, as Core Tools' global flags.
type globals struct {
	verbose    bool
	scriptRoot string
	stdout     io.Writer
	stderr     io.Writer
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
	cmd.AddCommand(startCommand(g), versionCommand(g), initCommand(g), newCommand(g), doctorCommand(g), keysCommand(g))
	return cmd
}

// run executes the CLI and returns the process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	g := &globals{stdout: stdout, stderr: stderr}
	cmd := root(g)
	cmd.SetArgs(args)
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

// logger returns the logger commands write to: text on stderr, debug level
// with --verbose.
func (g *globals) logger() *slog.Logger { return g.loggerTo(g.stderr) }

// loggerTo is logger writing to w.
func (g *globals) loggerTo(w io.Writer) *slog.Logger {
	level := slog.LevelInfo
	if g.verbose {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
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
