package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/funcd/funcd"
	"github.com/funcd/funcd/host"
)

// printBanner prints the startup listing in Core Tools' format: "Functions:"
// then each function with its methods and URL (and a key when the function
// needs one and keys are enforced).
func printBanner(g *globals, h *host.Host, noAuth bool, base string) {
	gen := h.Current()
	w := g.stdout
	if noAuth {
		fmt.Fprintln(w, "\nAuthentication is off (--no-auth): every request is treated as admin. Use this for local development only.")
	} else {
		fmt.Fprintf(w, "\nKeys are enforced. Keys are stored in %s; list them with `funcd keys list`.\n", h.StateDir())
	}
	fmt.Fprint(w, "\nFunctions:\n\n")
	for _, fn := range gen.Functions() {
		if fn.Disabled {
			fmt.Fprintf(w, "Function %s is disabled.\n\n", fn.Name)
			continue
		}
		t := fn.HTTPTrigger()
		if t == nil {
			if tr := fn.Trigger(); tr != nil {
				fmt.Fprintf(w, "\t%s: %s\n\n", fn.Name, tr.Type)
			}
			continue
		}
		url := base + "/" + gen.RouteTemplate(fn)
		if key := bannerKey(h, fn, t, noAuth); key != "" {
			url += "?code=" + key
		}
		methods := ""
		if len(t.Methods) > 0 {
			methods = "[" + strings.Join(t.Methods, ",") + "]"
		}
		fmt.Fprintf(w, "\t%s: %s %s\n\n", fn.Name, methods, url)
	}
	for _, fn := range gen.App.Functions {
		if !fn.OK() {
			fmt.Fprintf(w, "\t%s: not loaded, %d error(s); run `funcd doctor` for details\n\n", fn.Name, len(fn.Errors))
		}
	}
	if !g.verbose {
		fmt.Fprintln(w, "For detailed output, run funcd with --verbose flag.")
	}
}

// bannerKey returns the key to show in a function's URL: its default
// function key, or the master key for admin-level functions.
func bannerKey(h *host.Host, fn *funcd.Function, t *funcd.Binding, noAuth bool) string {
	if noAuth || t.AuthLevel == funcd.AuthAnonymous {
		return ""
	}
	ctx := context.Background()
	if t.AuthLevel == funcd.AuthFunction {
		if k, err := h.Keys().FunctionKey(ctx, fn.Name, "default"); err == nil {
			return k.Value
		}
	}
	if k, err := h.Keys().MasterKey(ctx); err == nil {
		return k
	}
	return ""
}
