package main

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/funcd/funcd"
	"github.com/funcd/funcd/binding"
	"github.com/funcd/funcd/binding/queue"
	"github.com/funcd/funcd/host"
	"github.com/funcd/funcd/storage"
)

// storageOptions are the flags every queue and blob command takes.
type storageOptions struct {
	stateDir   string
	connection string
}

// storageFlags adds --state-dir and --connection to a queue or blob
// command.
func storageFlags(cmd *cobra.Command, o *storageOptions) {
	pf := cmd.PersistentFlags()
	pf.StringVar(&o.stateDir, "state-dir", "", stateDirUsage)
	pf.StringVar(&o.connection, "connection", host.DefaultConnection,
		"the app setting that names the storage, as a binding's \"connection\"")
}

// storageHelp is what the queue and blob commands' help says about where
// they work.
const storageHelp = `They work on the storage the app's bindings use, resolved exactly as funcd
start resolves it: the --connection setting (AzureWebJobsStorage by default)
from local.settings.json and the environment; UseDevelopmentStorage=true means
Azurite when it answers, else funcd's embedded store in the state folder
(FUNCD_DEVELOPMENT_STORAGE=auto|embedded|azurite forces the choice), or the
PostgreSQL store that FUNCD_STORE names. Which one is used is printed on
stderr.

They work whether or not funcd start runs for the app: the embedded store
takes a second process.`

// openStorage opens the provider of the command's connection as the host
// would, and says which it is on stderr.
func openStorage(ctx context.Context, g *globals, o *storageOptions) (*binding.Provider, io.Closer, error) {
	root, err := g.appRoot()
	if err != nil {
		return nil, nil, err
	}
	if err := checkAppRoot(root); err != nil {
		return nil, nil, err
	}
	clk, err := processClock(g)
	if err != nil {
		return nil, nil, err
	}
	p, closer, err := host.OpenProvider(ctx, host.Config{
		ScriptRoot: root, StateDir: o.stateDir, Environ: os.Environ(), Logger: g.logger(), Clock: clk,
	}, o.connection)
	if err != nil {
		return nil, nil, explainConfigError(err)
	}
	if p.Queues == nil || p.Blobs == nil {
		closer.Close()
		return nil, nil, fmt.Errorf("the connection %s has no queues or blobs in this build of funcd", o.connection)
	}
	return p, closer, nil
}

// explainConfigError spells out a configuration error for a person at the
// command line: where, what, and the hint.
func explainConfigError(err error) error {
	ce, ok := errors.AsType[*funcd.ConfigError](err)
	if !ok {
		return err
	}
	msg := ce.Msg
	if ce.File != "" {
		msg = ce.Error()
	}
	if ce.Hint != "" {
		msg += "\n" + ce.Hint
	}
	return errors.New(msg)
}

// storageError words a store's error for the command line.
func storageError(what string, err error) error {
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return fmt.Errorf("%s does not exist", what)
	case errors.Is(err, storage.ErrTooLarge):
		return fmt.Errorf("%s: %w (Azure Storage takes at most %d bytes per message, after base64 encoding)", what, err, storage.MaxMessageSize)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// checkQueueName lower-cases and checks a queue name as the queue trigger
// does, so that the message lands where the trigger listens.
func checkQueueName(name string) (string, error) {
	n, err := queue.NormalizeQueueName(name)
	if err != nil {
		return "", fmt.Errorf("invalid queue name: %w", err)
	}
	return n, nil
}

// splitBlobPath splits container/name and checks both against Azure
// Storage's rules.
func splitBlobPath(arg string) (container, name string, err error) {
	container, name, found := strings.Cut(arg, "/")
	if err := storage.CheckContainerName(container); err != nil {
		return "", "", fmt.Errorf("invalid container in %q: %w", arg, err)
	}
	if !found || name == "" {
		return "", "", fmt.Errorf("%q names no blob: expected <container>/<blob name>", arg)
	}
	if err := storage.CheckBlobName(name); err != nil {
		return "", "", fmt.Errorf("invalid blob name in %q: %w", arg, err)
	}
	return container, name, nil
}

// parseSeconds reads a --ttl or --visibility-delay: a Go duration ("90s",
// "2h") or a whole number of seconds, as az storage message put takes them;
// never (-1) only when allowNever.
func parseSeconds(flag, v string, allowNever bool) (time.Duration, error) {
	v = strings.TrimSpace(v)
	if allowNever && (v == "-1" || strings.EqualFold(v, "never")) {
		return storage.NeverExpires, nil
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 && n <= 1<<31 {
		return time.Duration(n) * time.Second, nil
	}
	if d, err := time.ParseDuration(v); err == nil && d >= 0 {
		return d, nil
	}
	want := "a duration such as 30s, 10m or 2h, or a number of seconds"
	if allowNever {
		want += ", or -1 (never)"
	}
	return 0, fmt.Errorf("--%s %q: expected %s", flag, v, want)
}

// readInput reads a command's content: the file path, or stdin for "-".
func readInput(g *globals, path string, limit int64) ([]byte, error) {
	var r io.Reader = g.stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	if r == nil {
		r = os.Stdin
	}
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("the message is longer than %d bytes", limit)
	}
	return b, nil
}

// encodeMessage applies --encoding to a message's text.
func encodeMessage(encoding string, text []byte) ([]byte, error) {
	switch strings.ToLower(encoding) {
	case "base64":
		out := make([]byte, base64.StdEncoding.EncodedLen(len(text)))
		base64.StdEncoding.Encode(out, text)
		return out, nil
	case "none":
		return text, nil
	}
	return nil, fmt.Errorf("--encoding %q: expected base64 or none", encoding)
}
