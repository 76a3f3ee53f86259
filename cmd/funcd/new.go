package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/funcd/funcd/scaffold"
)

func newCommand(g *globals) *cobra.Command {
	var template, name string
	cmd := &cobra.Command{
		Use:   "new",
		Short: "Create a new function in the app from a template",
		Long: `Create a function from a template, as Core Tools' func new does: a folder named
after the function with its function.json. In an app that funcd init created,
it also adds handler/<name>_function.go, which registers the function's code
with the Go custom handler; rebuild the handler afterwards. In a Go SDK app
(funcd init --worker-runtime go) it adds <name>_function.go, which registers
the function on the app; the Timer, Queue and Blob templates are for those.

Templates: ` + strings.Join(scaffold.TemplateNames(), ", ") + ` (names ignore case and spaces).`,
		Example: `  funcd new --template "HTTP trigger" --name hello`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir, err := g.appRoot()
			if err != nil {
				return err
			}
			return runNew(g, dir, template, name)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&template, "template", "t", "", "the template: "+strings.Join(scaffold.TemplateNames(), ", "))
	f.StringVarP(&name, "name", "n", "", "the function's name (a letter, then letters, digits, '_' or '-')")
	return cmd
}

func runNew(g *globals, dir, template, name string) error {
	if template == "" || name == "" {
		return errors.New(`--template and --name are required, e.g. funcd new --template "HTTP trigger" --name hello`)
	}
	t, err := scaffold.FindTemplate(template)
	if err != nil {
		return err
	}
	lines, err := scaffold.New(dir, t.Name, name)
	for _, l := range lines {
		fmt.Fprintln(g.stdout, l)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(g.stdout, "The function %q was created successfully from the %q template.\n", name, t.Name)
	if _, err := os.Stat(filepath.Join(dir, scaffold.GoFunctionFile(name))); err == nil {
		fmt.Fprintln(g.stdout, "Rebuild the app: "+scaffold.GoBuildCommand)
	} else if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(scaffold.HandlerFile(name)))); err == nil {
		fmt.Fprintln(g.stdout, "Rebuild the handler: "+scaffold.BuildCommand)
	}
	return nil
}
