package main

import (
	"os"

	"github.com/spf13/cobra"

	"github.com/funcd/funcd/doctor"
)

func doctorCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "doctor",
		Short: "Explain why a function is missing or broken",
		Long: `Check the function app offline, without starting it, and explain everything
that keeps the app or one of its functions from running: errors in host.json,
function.json and local.settings.json, functions left out by the host.json
allow list or disabled by an AzureWebJobs.<name>.Disabled setting, a custom
handler program that is missing or not executable, and bindings funcd does
not run yet. Every finding comes with its file:line:column and a fix.

The exit code is 1 when the report has errors.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir, err := g.appRoot()
			if err != nil {
				return err
			}
			report := doctor.Check(dir, os.Environ())
			if err := report.Write(g.stdout); err != nil {
				return err
			}
			if !report.OK() {
				return errSilent
			}
			return nil
		},
	}
}
