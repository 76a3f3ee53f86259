package main

import (
	"slices"

	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/funcd/funcd/binding/mcptrigger"

	"github.com/funcd/funcd"
	"github.com/funcd/funcd/host"
)

// printBanner prints the startup listing in Core Tools' format: "Functions:"
// then each function with its methods and URL. A function that needs a key
// gets its default function key in the URL only when stdout is a terminal
// (a person reads it there; a log file or a CI job's output would keep the
// key); otherwise, and for functions that need the master key, which the
// banner never prints, the URL is followed by the command that lists keys.
//
// The listing goes out in one write, so that log lines written meanwhile
// never split it and a reader never sees half of it.
func printBanner(g *globals, h *host.Host, o startOptions, base string) {
	gen := h.Current()
	var w bytes.Buffer
	defer func() { _, _ = g.stdout.Write(w.Bytes()) }()
	if o.noAuth {
		fmt.Fprintln(&w, "\nAuthentication is off (--no-auth): every request is treated as admin. Use this for local development only.")
	} else {
		fmt.Fprintf(&w, "\nKeys are enforced. Keys are stored in %s; list them with `funcd keys list`.\n", h.StateDir())
	}
	fmt.Fprint(&w, "\nFunctions:\n\n")
	for _, fn := range gen.Functions() {
		if fn.Disabled {
			fmt.Fprintf(&w, "Function %s is disabled.\n\n", fn.Name)
			continue
		}
		t := fn.HTTPTrigger()
		if t == nil {
			if tr := fn.Trigger(); tr != nil {
				fmt.Fprintf(&w, "\t%s: %s\n\n", fn.Name, tr.Type)
			}
			continue
		}
		url := base + "/" + gen.RouteTemplate(fn)
		if !o.noAuth && t.AuthLevel != funcd.AuthAnonymous {
			if key := bannerKey(h, fn, t); key != "" && g.stdoutTerminal {
				url += "?code=" + key
			} else {
				url += keyHint(g, o, fn, t.AuthLevel)
			}
		}
		methods := ""
		if len(t.Methods) > 0 {
			methods = "[" + strings.Join(t.Methods, ",") + "]"
		}
		fmt.Fprintf(&w, "\t%s: %s %s\n\n", fn.Name, methods, url)
	}
	if slices.ContainsFunc(gen.Functions(), func(fn *funcd.Function) bool { return !fn.Disabled && mcptrigger.Trigger(fn) != nil }) {
		// As the real host logs them when the MCP extension starts.
		fmt.Fprintf(&w, "MCP server endpoint: %s/runtime/webhooks/mcp\n", base)
		fmt.Fprintf(&w, "MCP server legacy SSE endpoint: %s/runtime/webhooks/mcp/sse\n", base)
		if !o.noAuth {
			// The extension's system key exists from the start, as in
			// the real host, so that `funcd keys list` shows it.
			if km := h.Keys(); km != nil {
				if _, err := km.ExtensionKey(context.Background(), "mcp"); err != nil {
					fmt.Fprintf(&w, "The mcp_extension system key cannot be made: %v\n", err)
				}
			}
			fmt.Fprintln(&w, "MCP clients send the mcp_extension system key in x-functions-key; `funcd keys list` prints it.")
		}
		fmt.Fprintln(&w)
	}
	for _, fn := range gen.App.Functions {
		// A function outside the allow list is not reported, as the host
		// reports no errors for it.
		if fn.OK() || fn.NotAllowed || fn.Excluded {
			continue
		}
		if gen.App.WorkerIndexed {
			// funcd doctor reads files: it cannot see the functions a
			// worker registers as it starts.
			fmt.Fprintf(&w, "\t%s: not loaded, %d error(s), logged below and listed by GET /admin/functions/%s/status\n\n", fn.Name, len(fn.Errors), fn.Name)
			continue
		}
		fmt.Fprintf(&w, "\t%s: not loaded, %d error(s); run `funcd doctor` for details\n\n", fn.Name, len(fn.Errors))
	}
	if !g.verbose {
		fmt.Fprintln(&w, "For detailed output, run funcd with --verbose flag.")
	}
}

// bannerKey returns the key the banner may show in a function's URL: its
// default function key, for function-level functions only. It never
// returns the master key.
func bannerKey(h *host.Host, fn *funcd.Function, t *funcd.Binding) string {
	if t.AuthLevel != funcd.AuthFunction {
		return ""
	}
	k, err := h.Keys().FunctionKey(context.Background(), fn.Name, "default")
	if err != nil {
		return ""
	}
	return k.Value
}

// keyHint is what follows a URL shown without its key: which key it needs
// and the command that prints it.
func keyHint(g *globals, o startOptions, fn *funcd.Function, level funcd.AuthLevel) string {
	cmd := "funcd keys list"
	if g.scriptRoot != "" {
		cmd += " --script-root " + shellQuote(g.scriptRoot)
	}
	if o.stateDir != "" {
		cmd += " --state-dir " + shellQuote(o.stateDir)
	}
	switch level {
	case funcd.AuthFunction:
		return " (needs a function key: " + cmd + " --function " + shellQuote(fn.Name) + ")"
	case funcd.AuthSystem:
		return " (needs a system key or the master key: " + cmd + ")"
	}
	return " (needs the master key, _master: " + cmd + ")"
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\n'\"\\$`&|;<>()*?[]{}~#!") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
