package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/funcd/funcd/appconfig"
	"github.com/funcd/funcd/host"
	"github.com/funcd/funcd/keys"
)

// keysOptions are the flags of the keys commands.
type keysOptions struct {
	stateDir string
	function string
	system   bool
}

const keysHelp = `Manage the app's keys offline, in the same key store funcd start uses: the
secrets folder in the state folder (--state-dir; by default a folder of the
app's own outside it, under $XDG_STATE_HOME/funcd/apps or
~/.local/state/funcd/apps on Linux, the user configuration folder on macOS
and Windows), or FUNCTIONS_SECRETS_PATH when AzureWebJobsSecretStorageType is
"files", both read from the environment and local.settings.json. An app with
a .funcd folder from an earlier funcd keeps its keys there.

Scopes: host function keys (the default), host system keys (--system), and a
function's own keys (--function NAME). The name _master addresses the master
key. Keys that do not exist yet are created on first use, as the host does.

A running funcd picks up keys added or changed here the first time a request
presents one (it re-reads the secrets files at most once a minute when a key
matches nothing, as the real host does). A removed or renewed key stops working
once the host re-reads the files: at the next such miss, or at once after
POST /admin/host/restart. Changes through the admin API apply at once.`

func keysCommand(g *globals) *cobra.Command {
	var o keysOptions
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "List, set, renew and delete the app's keys",
		Long:  keysHelp,
	}
	cmd.PersistentFlags().StringVar(&o.stateDir, "state-dir", "", stateDirUsage)
	cmd.AddCommand(keysListCommand(g, &o), keysSetCommand(g, &o), keysRenewCommand(g, &o), keysDeleteCommand(g, &o))
	return cmd
}

// scopeFlags adds --function and --system to a command that changes one key.
func scopeFlags(cmd *cobra.Command, o *keysOptions) {
	cmd.Flags().StringVar(&o.function, "function", "", "a key of this function (default: a host function key)")
	cmd.Flags().BoolVar(&o.system, "system", false, "a host system key (default: a host function key)")
	cmd.MarkFlagsMutuallyExclusive("function", "system")
}

func keysListCommand(g *globals, o *keysOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "list",
		Short: "Print every key (or one function's keys): scope, name and value",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ks, err := openKeys(g, o)
			if err != nil {
				return err
			}
			return ks.list(cmd.Context(), g)
		},
	}
	cmd.Flags().StringVar(&o.function, "function", "", "list only this function's keys")
	return cmd
}

func keysSetCommand(g *globals, o *keysOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "set NAME VALUE",
		Short:   "Create or replace a key with the given value",
		Example: "  funcd keys set ci-client 'a-long-random-value'\n  funcd keys set default 'another-value' --function hello",
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if args[1] == "" {
				return errors.New("the key value is empty (use funcd keys renew for a random value)")
			}
			return changeKey(cmd.Context(), g, o, args[0], args[1], "Set")
		},
	}
	scopeFlags(cmd, o)
	return cmd
}

func keysRenewCommand(g *globals, o *keysOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "renew NAME",
		Short:   "Give a key a new random value (creating it if needed) and print it",
		Example: "  funcd keys renew _master\n  funcd keys renew default --function hello",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return changeKey(cmd.Context(), g, o, args[0], "", "Renewed")
		},
	}
	scopeFlags(cmd, o)
	return cmd
}

func keysDeleteCommand(g *globals, o *keysOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a key (the master key cannot be deleted)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ks, err := openKeys(g, o)
			if err != nil {
				return err
			}
			if err := ks.delete(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "Deleted %s.\n", ks.describe(args[0]))
			return nil
		},
	}
	scopeFlags(cmd, o)
	return cmd
}

// changeKey sets a key (renews it when value is "") and says what it did.
func changeKey(ctx context.Context, g *globals, o *keysOptions, name, value, verb string) error {
	ks, err := openKeys(g, o)
	if err != nil {
		return err
	}
	k, created, err := ks.set(ctx, name, value)
	if err != nil {
		return err
	}
	if created && !isMaster(name) {
		verb = "Created"
	}
	fmt.Fprintf(g.stdout, "%s %s.\n", verb, ks.describe(name))
	if value == "" {
		fmt.Fprintln(g.stdout, k.Value)
	}
	return nil
}

// keyStore is the app's key manager and the scope a command works on.
type keyStore struct {
	m         *keys.Manager
	root      string
	functions []string // function folders, sorted
	function  string   // the --function, spelled as its folder; "" for host keys
	system    bool
}

// openKeys opens the app's key store as funcd start does.
func openKeys(g *globals, o *keysOptions) (*keyStore, error) {
	root, err := g.appRoot()
	if err != nil {
		return nil, err
	}
	// Keys belong to an app: outside one they would be made up for a
	// folder no host serves.
	if err := checkAppRoot(root); err != nil {
		return nil, err
	}
	settings, err := appSettings(root)
	if err != nil {
		return nil, err
	}
	stateDir := o.stateDir
	if stateDir == "" {
		abs, err := filepath.Abs(root)
		if err != nil {
			return nil, err
		}
		if stateDir, err = host.ResolveStateDir(abs, g.logger()); err != nil {
			return nil, err
		}
	}
	store, err := keys.Open(settings, stateDir, g.logger())
	if err != nil {
		return nil, err
	}
	ks := &keyStore{m: keys.NewManager(store, keys.Options{}), root: root, system: o.system}
	if ks.functions, err = functionFolders(root); err != nil {
		return nil, err
	}
	if o.function != "" {
		i := slices.IndexFunc(ks.functions, func(f string) bool { return strings.EqualFold(f, o.function) })
		if i < 0 {
			return nil, fmt.Errorf("there is no function named %q in %s", o.function, root)
		}
		ks.function = ks.functions[i]
	}
	return ks, nil
}

// appSettings returns the environment with local.settings.json's Values,
// as the host sees its settings.
func appSettings(root string) (map[string]string, error) {
	local, err := appconfig.ReadLocalSettings(os.DirFS(root), "local.settings.json")
	if err != nil {
		return nil, err
	}
	env, _ := appconfig.Environ(os.Environ(), local)
	return env, nil
}

// functionFolders returns the app's function names: the folders that hold
// a function.json, sorted.
func functionFolders(root string) ([]string, error) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if info, err := os.Stat(filepath.Join(root, e.Name(), "function.json")); err == nil && info.Mode().IsRegular() {
			names = append(names, e.Name())
		}
	}
	slices.SortFunc(names, func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) })
	return names, nil
}

func isMaster(name string) bool { return strings.EqualFold(name, keys.MasterKeyName) }

// describe names a key for messages.
func (ks *keyStore) describe(name string) string {
	switch {
	case isMaster(name):
		return "the master key"
	case ks.function != "":
		return fmt.Sprintf("key %q of function %s", name, ks.function)
	case ks.system:
		return fmt.Sprintf("host system key %q", name)
	}
	return fmt.Sprintf("host function key %q", name)
}

// set creates or replaces a key in the command's scope; "" renews it.
func (ks *keyStore) set(ctx context.Context, name, value string) (keys.Key, bool, error) {
	switch {
	case isMaster(name) && ks.function != "":
		return keys.Key{}, false, errors.New("the master key is a host key: drop --function")
	case ks.function != "":
		return ks.m.SetFunctionKey(ctx, ks.function, name, value)
	case ks.system:
		return ks.m.SetHostKey(ctx, keys.ScopeSystemKeys, name, value)
	}
	return ks.m.SetHostKey(ctx, keys.ScopeFunctionKeys, name, value)
}

// delete deletes a key in the command's scope.
func (ks *keyStore) delete(ctx context.Context, name string) error {
	switch {
	case isMaster(name):
		return errors.New("the master key cannot be deleted; give it a new value with funcd keys renew _master")
	case ks.function != "":
		return ks.m.DeleteFunctionKey(ctx, ks.function, name)
	case ks.system:
		return ks.m.DeleteHostKey(ctx, keys.ScopeSystemKeys, name)
	}
	return ks.m.DeleteHostKey(ctx, keys.ScopeFunctionKeys, name)
}

// list prints the keys in a table: every key, or the --function's.
func (ks *keyStore) list(ctx context.Context, g *globals) error {
	tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SCOPE\tNAME\tVALUE")
	functions := ks.functions
	if ks.function != "" {
		functions = []string{ks.function}
	} else if err := ks.listHost(ctx, tw); err != nil {
		return err
	}
	for _, fn := range functions {
		list, err := ks.m.FunctionKeys(ctx, fn)
		if err != nil {
			return err
		}
		for _, k := range list {
			fmt.Fprintf(tw, "function:%s\t%s\t%s\n", fn, k.Name, k.Value)
		}
	}
	return tw.Flush()
}

// listHost prints the master key, the host function keys and the system
// keys.
func (ks *keyStore) listHost(ctx context.Context, tw *tabwriter.Writer) error {
	master, err := ks.m.MasterKey(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(tw, "master\t%s\t%s\n", keys.MasterKeyName, master)
	for _, scope := range []struct{ label, scope string }{{"host", keys.ScopeFunctionKeys}, {"system", keys.ScopeSystemKeys}} {
		list, err := ks.m.HostKeys(ctx, scope.scope)
		if err != nil {
			return err
		}
		for _, k := range list {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", scope.label, k.Name, k.Value)
		}
	}
	return nil
}
