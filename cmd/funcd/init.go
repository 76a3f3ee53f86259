package main

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/funcd/funcd/scaffold"
)

func initCommand(g *globals) *cobra.Command {
	var runtime string
	cmd := &cobra.Command{
		Use:   "init [folder]",
		Short: "Create a new function app in the current folder (or the named one)",
		Long: `Create a function app, as Core Tools' func init does: host.json,
local.settings.json, .gitignore and .funcignore. With --worker-runtime custom
the app gets a Go custom handler in handler/ that builds into bin/handler, the
program host.json names.

Files that already exist are left alone.`,
		Example: `  funcd init myapp --worker-runtime custom`,
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir, err := g.appRoot()
			if err != nil {
				return err
			}
			if len(args) == 1 {
				dir = joinRel(dir, args[0])
			}
			return runInit(g, dir, runtime)
		},
	}
	cmd.Flags().StringVar(&runtime, "worker-runtime", "",
		"runtime of the functions; options: "+strings.Join(scaffold.Runtimes, ", "))
	return cmd
}

func runInit(g *globals, dir, runtime string) error {
	lines, err := scaffold.Init(dir, runtime)
	for _, l := range lines {
		fmt.Fprintln(g.stdout, l)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(g.stdout, "\nNext, in %s:\n", dir)
	if r := strings.ToLower(runtime); r == "go" || r == "golang" {
		fmt.Fprintln(g.stdout, `  funcd new --template "Timer trigger" --name tick`)
		fmt.Fprintln(g.stdout, "  go mod tidy")
		fmt.Fprintln(g.stdout, "  "+scaffold.GoBuildCommand)
		fmt.Fprintln(g.stdout, "  funcd start")
		return nil
	}
	fmt.Fprintln(g.stdout, `  funcd new --template "HTTP trigger" --name hello`)
	fmt.Fprintln(g.stdout, "  "+scaffold.BuildCommand)
	fmt.Fprintln(g.stdout, "  funcd start")
	return nil
}

// joinRel joins a relative path to base; an absolute path stays as it is.
func joinRel(base, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(base, p)
}
