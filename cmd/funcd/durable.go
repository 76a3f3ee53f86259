package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/funcd/funcd"
	"github.com/funcd/funcd/clock"
	"github.com/funcd/funcd/durable"
	"github.com/funcd/funcd/host"
	"github.com/funcd/funcd/httpapi/durableapi"
)

const durableHelp = `Manage the app's Durable Functions instances, as Core Tools' func durable
commands do: start orchestrations, read their status and history, send them
events, terminate, suspend, resume, rewind, restart and purge them, and delete
the task hub.

They work on the task hub funcd start runs for the app, in the app's store,
whether or not funcd start runs: the embedded store in the state folder, or
the PostgreSQL store that FUNCD_STORE names (--connection-string-setting names
another setting to read it from). The hub is host.json
extensions.durableTask.hubName, else WEBSITE_SITE_NAME, else TestHubName;
--task-hub-name chooses another.

No host runs the instances here: start-new leaves a Pending instance, and
raise-event, terminate, suspend, resume, rewind and restart leave messages,
which funcd start processes when it runs the app (a running funcd start picks
them up on its next poll).

Instance statuses print as the Durable Functions HTTP API writes them (name,
instanceId, runtimeStatus, input, customStatus, output, createdTime,
lastUpdatedTime), and history events as its historyEvents.`

// durableOptions are the flags of the durable commands.
type durableOptions struct {
	stateDir   string
	hub        string
	connection string

	id            string
	functionName  string
	input         string
	version       string
	unchecked     bool
	showInput     bool
	showOutput    bool
	eventName     string
	eventData     string
	reason        string
	createdAfter  string
	createdBefore string
	statuses      string
	top           int
	continuation  string
	newID         bool
}

func durableCommand(g *globals) *cobra.Command {
	var o durableOptions
	cmd := &cobra.Command{
		Use:   "durable",
		Short: "Manage Durable Functions instances in the app's task hub",
		Long:  durableHelp,
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&o.stateDir, "state-dir", "", stateDirUsage)
	pf.StringVar(&o.hub, "task-hub-name", "", "the task hub (default: host.json extensions.durableTask.hubName, else WEBSITE_SITE_NAME, else TestHubName)")
	pf.StringVar(&o.connection, "connection-string-setting", "",
		"the setting holding the store's connection string: a PostgreSQL connection string, or UseDevelopmentStorage=true for the embedded store (default: "+host.SettingStore+")")
	cmd.AddCommand(
		durableStartNewCommand(g, &o), durableStatusCommand(g, &o), durableHistoryCommand(g, &o),
		durableInstancesCommand(g, &o), durableRaiseEventCommand(g, &o), durableTerminateCommand(g, &o),
		durableReasonCommand(g, &o, "suspend", "Suspend a running instance: the events it receives wait until it is resumed",
			func(ctx context.Context, c *durable.Client, id, reason string) error {
				return c.Suspend(ctx, id, reason)
			},
			"Sent a suspend message to instance '%s'."),
		durableReasonCommand(g, &o, "resume", "Resume a suspended instance",
			func(ctx context.Context, c *durable.Client, id, reason string) error {
				return c.Resume(ctx, id, reason)
			},
			"Sent a resume message to instance '%s'."),
		durableReasonCommand(g, &o, "rewind", "Run a Failed instance again from its failures",
			func(ctx context.Context, c *durable.Client, id, reason string) error {
				return c.Rewind(ctx, id, reason)
			},
			"Sent a rewind message to instance '%s'."),
		durableRestartCommand(g, &o), durablePurgeCommand(g, &o), durableDeleteHubCommand(g, &o),
	)
	return cmd
}

// durableBoolFlags are the durable commands' switches, which Core Tools
// writes with a separate value: --show-input true.
var durableBoolFlags = []string{"--show-input", "--show-output", "--unchecked", "--new-id"}

// joinBoolValues joins a durable command's switch and a true or false
// after it (--show-input true) into one argument (--show-input=true), so
// that Core Tools' command lines parse.
func joinBoolValues(args []string) []string {
	if !slices.Contains(args, "durable") {
		return args
	}
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return append(out, args[i:]...)
		}
		if slices.Contains(durableBoolFlags, a) && i+1 < len(args) {
			if v := strings.ToLower(args[i+1]); v == "true" || v == "false" {
				out = append(out, a+"="+v)
				i++
				continue
			}
		}
		out = append(out, a)
	}
	return out
}

// durableHub is an app's task hub opened for a command.
type durableHub struct {
	app    *host.DurableApp
	client *durable.Client
	hub    string
	clock  clock.Clock
}

// openDurable opens the app's task hub: its store, its hub name (or
// --task-hub-name) and a client over them. An app whose functions are
// known and use no Durable Functions is an error unless --task-hub-name
// names a hub.
func openDurable(ctx context.Context, g *globals, o *durableOptions) (*durableHub, error) {
	root, err := g.appRoot()
	if err != nil {
		return nil, err
	}
	if err := checkAppRoot(root); err != nil {
		return nil, err
	}
	clk, err := processClock(g)
	if err != nil {
		return nil, err
	}
	app, err := host.OpenDurable(ctx, host.Config{
		ScriptRoot: root, StateDir: o.stateDir, Environ: os.Environ(), Logger: g.logger(), Clock: clk,
	}, o.connection)
	if err != nil {
		return nil, explainConfigError(err)
	}
	if app.Indexed && !app.Uses && o.hub == "" {
		app.Close()
		return nil, fmt.Errorf("the app in %s has no Durable Functions: no function has an orchestrationTrigger, activityTrigger, entityTrigger or durableClient binding (pass --task-hub-name to work on a task hub anyway)", root)
	}
	hub := app.Hub
	if o.hub != "" {
		hub = o.hub
	}
	e := newClientEngine(app, hub, clk)
	e.SetFunctions(app.Functions, nil)
	fmt.Fprintf(g.stderr, "Task hub %s in %s.\n", hub, app.Store)
	return &durableHub{app: app, client: e.Client(hub), hub: hub, clock: clk}, nil
}

func (d *durableHub) Close() { d.app.Close() }

// newClientEngine is an engine that is never started, for its client: the
// hub's instances are started and replaced as funcd start's engine does
// (host.json overridableExistingInstanceStates).
func newClientEngine(app *host.DurableApp, hub string, clk clock.Clock) *durable.Engine {
	return durable.New(app.Backend, durable.Options{Hub: hub, Reuse: app.Options.Reuse, Clock: clk})
}

// withHub opens the task hub, runs fn and closes the hub.
func withHub(cmd *cobra.Command, g *globals, o *durableOptions, fn func(ctx context.Context, d *durableHub) error) error {
	ctx := cmd.Context()
	d, err := openDurable(ctx, g, o)
	if err != nil {
		return err
	}
	defer d.Close()
	return fn(ctx, d)
}

// idFlag adds the required --id.
func idFlag(cmd *cobra.Command, o *durableOptions) {
	cmd.Flags().StringVar(&o.id, "id", "", "the orchestration instance's id (required)")
	_ = cmd.MarkFlagRequired("id")
}

// instanceError words a client's error about instance id for the command
// line, with the HTTP API's status where it has one.
func (d *durableHub) instanceError(ctx context.Context, id string, err error) error {
	switch {
	case errors.Is(err, durable.ErrNotFound):
		return fmt.Errorf("could not find an orchestration instance with id '%s' in task hub %s", id, d.hub)
	case errors.Is(err, durable.ErrGone):
		return fmt.Errorf("instance '%s' has finished and takes no more events (%s; the HTTP API answers 410 Gone)", id, d.statusOf(ctx, id))
	case errors.Is(err, durable.ErrNotFailed):
		return fmt.Errorf("instance '%s' is %s: only Failed instances can be rewound", id, d.statusOf(ctx, id))
	case errors.Is(err, durable.ErrInstanceExists):
		return fmt.Errorf("an instance with id '%s' already exists and is %s (the HTTP API answers 409 Conflict): wait until it finishes, terminate it, or choose another --id", id, d.statusOf(ctx, id))
	}
	return err
}

// statusOf names an instance's status for an error message.
func (d *durableHub) statusOf(ctx context.Context, id string) string {
	inst, err := d.client.Status(ctx, id)
	if err != nil {
		return "in an unknown status"
	}
	return inst.Status.String()
}

// readJSONArg reads --input or --event-data: inline JSON, or @file (a
// file holding JSON), as Core Tools takes them; "" is no value.
func readJSONArg(flag, v string) (string, error) {
	if v == "" {
		return "", nil
	}
	text := v
	where := "the value"
	if strings.HasPrefix(v, "@") {
		path := v[1:]
		b, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("--%s %s: could not find input file at '%s'", flag, v, path)
		}
		if err != nil {
			return "", fmt.Errorf("--%s %s: %w", flag, v, err)
		}
		text = strings.TrimPrefix(string(b), "\ufeff")
		where = "the file " + path
	}
	if !json.Valid([]byte(text)) {
		var syn *json.SyntaxError
		detail := ""
		if err := json.Unmarshal([]byte(text), new(any)); errors.As(err, &syn) {
			detail = fmt.Sprintf(" (%v at byte %d)", syn, syn.Offset)
		}
		return "", fmt.Errorf("--%s: %s is not JSON%s: expected a JSON value such as '{\"city\": \"Tokyo\"}', '\"Tokyo\"' (a string, quoted) or 42, or @file with a file holding one",
			flag, where, detail)
	}
	return strings.TrimSpace(text), nil
}

// apiTime formats a time as the HTTP API does: UTC, whole seconds.
func apiTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// statusOf is an instance's status as the HTTP API writes it; the output
// only with showOutput (Core Tools' --show-output).
func statusOf(inst *durable.Instance, showInput, showOutput bool) *durableapi.Status {
	s := durableapi.StatusOf(inst, showInput)
	if !showOutput {
		s.Output = json.RawMessage("null")
	}
	return s
}

// printJSON writes v indented, as Core Tools prints its results.
func printJSON(g *globals, v any) error {
	enc := json.NewEncoder(g.stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

func durableStartNewCommand(g *globals, o *durableOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "start-new",
		Short: "Start a new instance of an orchestrator function",
		Long: `Start a new instance of an orchestrator function of the app. The instance is
Pending until funcd start runs the app.

--input is the orchestration's input: inline JSON, or @file for a file holding
JSON. --id chooses the instance's id (default: a random one); an id in use by
an instance that has not finished is refused, as the HTTP API refuses it with
409 Conflict, and a finished one is replaced.

The function must be an enabled orchestrator function of the app (one whose
function.json has an orchestrationTrigger). An app whose language worker
indexes its functions itself has no function.json to check: pass --unchecked
to start the orchestration anyway.`,
		Example: `  funcd durable start-new --function-name HelloCities --input '{"cities": ["Tokyo", "Seattle"]}'
  funcd durable start-new --function-name HelloCities --input @input.json --id order-42`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withHub(cmd, g, o, func(ctx context.Context, d *durableHub) error { return durableStartNew(ctx, g, o, d) })
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.functionName, "function-name", "", "the orchestrator function to start (required)")
	_ = cmd.MarkFlagRequired("function-name")
	f.StringVar(&o.input, "input", "", "the orchestration's input: JSON, or @file")
	f.StringVar(&o.id, "id", "", "the new instance's id (default: a random one)")
	f.StringVar(&o.version, "version", "", "the orchestration's version")
	f.BoolVar(&o.unchecked, "unchecked", false, "start the orchestration without checking that the app has an orchestrator function of that name")
	return cmd
}

func durableStartNew(ctx context.Context, g *globals, o *durableOptions, d *durableHub) error {
	input, err := readJSONArg("input", o.input)
	if err != nil {
		return err
	}
	name := o.functionName
	if o.unchecked {
		fns := d.app.Functions
		fns.Orchestrators = append(slices.Clone(fns.Orchestrators), name)
		e := newClientEngine(d.app, d.hub, d.clock)
		e.SetFunctions(fns, nil)
		d.client = e.Client(d.hub)
	} else if err := checkOrchestrator(d.app, name); err != nil {
		return err
	}
	if o.id != "" {
		if err := durable.CheckInstanceID(o.id); err != nil {
			return fmt.Errorf("--id: %w", err)
		}
	}
	if err := d.app.Backend.CreateTaskHub(ctx, d.hub); err != nil {
		return err
	}
	id, err := d.client.StartNew(ctx, name, durable.StartOptions{InstanceID: o.id, Input: input, Version: o.version})
	if err != nil {
		return d.instanceError(ctx, o.id, err)
	}
	inst, err := d.client.Status(ctx, id)
	if err != nil {
		return d.instanceError(ctx, id, err)
	}
	fmt.Fprintf(g.stdout, "Started '%s' at %s. Instance ID: '%s'.\n", inst.Name, apiTime(inst.CreatedAt), id)
	return nil
}

// checkOrchestrator checks that name is an enabled orchestrator function
// of the app, with the names it has when it is not.
func checkOrchestrator(app *host.DurableApp, name string) error {
	if !app.Indexed {
		return fmt.Errorf("cannot check that '%s' is an orchestrator function: the app has no function.json files, so its language worker indexes its functions when funcd start runs it; pass --unchecked to start the orchestration anyway", name)
	}
	for _, n := range app.Functions.Orchestrators {
		if strings.EqualFold(n, name) {
			return nil
		}
	}
	have := "the app has none"
	if len(app.Functions.Orchestrators) > 0 {
		have = "the app's orchestrator functions: " + strings.Join(app.Functions.Orchestrators, ", ")
	}
	return fmt.Errorf("the function '%s' doesn't exist, is disabled, or is not an orchestrator function (%s); pass --unchecked to start it anyway", name, have)
}

func durableStatusCommand(g *globals, o *durableOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "get-runtime-status",
		Short: "Print the status of an orchestration instance as JSON",
		Long: `Print the status of an orchestration instance as the HTTP API writes it: name,
instanceId, runtimeStatus, input, customStatus, output, createdTime and
lastUpdatedTime. input and output are null unless --show-input and
--show-output ask for them, as in Core Tools.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withHub(cmd, g, o, func(ctx context.Context, d *durableHub) error {
				inst, err := d.client.Status(ctx, o.id)
				if err != nil {
					return d.instanceError(ctx, o.id, err)
				}
				return printJSON(g, statusOf(inst, o.showInput, o.showOutput))
			})
		},
	}
	idFlag(cmd, o)
	cmd.Flags().BoolVar(&o.showInput, "show-input", false, "include the instance's input")
	cmd.Flags().BoolVar(&o.showOutput, "show-output", false, "include the instance's output")
	return cmd
}

func durableHistoryCommand(g *globals, o *durableOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "get-history",
		Short: "Print the history of an orchestration instance as JSON",
		Long: `Print the history of an orchestration instance's current execution, oldest
first, as the HTTP API's historyEvents (showHistory=true&showHistoryOutput=true):
each event's EventType by name and Timestamp; a task's completion or failure
with the FunctionName and ScheduledTime of its scheduling; results as JSON.
OrchestratorStarted and OrchestratorCompleted events are left out, and so are
tasks that have not completed yet.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withHub(cmd, g, o, func(ctx context.Context, d *durableHub) error {
				h, err := d.client.History(ctx, o.id)
				if err != nil {
					return d.instanceError(ctx, o.id, err)
				}
				return printJSON(g, durableapi.HistoryEvents(h, true))
			})
		},
	}
	idFlag(cmd, o)
	return cmd
}

func durableInstancesCommand(g *globals, o *durableOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "get-instances",
		Short: "Print a page of orchestration instances' statuses as JSON",
		Long: `Print the statuses of the task hub's orchestration instances as a JSON array,
oldest first, --top at a time. When more remain, the continuation token of the
next page is printed on stderr: pass it as --continuation-token.

--created-after and --created-before take a date and time in UTC (or with an
offset): 2026-03-10T13:57:31Z, 2026-03-10 13:57, 2026-03-10. --runtime-status
takes one or more statuses separated by spaces or commas: Running, Pending,
Completed, Failed, Terminated, Suspended, ContinuedAsNew, Canceled.`,
		Example: `  funcd durable get-instances --runtime-status "running pending" --top 20
  funcd durable get-instances --created-after 2026-03-10T00:00Z --continuation-token <token>`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			q, err := instanceQuery(o)
			if err != nil {
				return err
			}
			if o.top < 1 {
				return fmt.Errorf("--top %d: expected a number of instances of at least 1", o.top)
			}
			q.PageSize, q.Continuation = o.top, o.continuation
			return withHub(cmd, g, o, func(ctx context.Context, d *durableHub) error {
				page, next, err := d.client.List(ctx, q)
				if err != nil {
					if o.continuation != "" {
						return fmt.Errorf("--continuation-token %q: %w", o.continuation, err)
					}
					return err
				}
				views := make([]*durableapi.Status, len(page))
				for i, inst := range page {
					views[i] = statusOf(inst, o.showInput, true)
				}
				if err := printJSON(g, views); err != nil {
					return err
				}
				if next != "" {
					fmt.Fprintf(g.stderr, "Continuation token for next set of results: '%s'\n", next)
				}
				return nil
			})
		},
	}
	timeFilterFlags(cmd, o, "list the instances")
	cmd.Flags().IntVar(&o.top, "top", 10, "the number of instances per page")
	cmd.Flags().StringVar(&o.continuation, "continuation-token", "", "the token of the page to print, from the page before")
	cmd.Flags().BoolVar(&o.showInput, "show-input", false, "include the instances' inputs")
	return cmd
}

// timeFilterFlags adds --created-after, --created-before and
// --runtime-status.
func timeFilterFlags(cmd *cobra.Command, o *durableOptions, what string) {
	f := cmd.Flags()
	f.StringVar(&o.createdAfter, "created-after", "", what+" created at or after this date and time (UTC)")
	f.StringVar(&o.createdBefore, "created-before", "", what+" created at or before this date and time (UTC)")
	f.StringVar(&o.statuses, "runtime-status", "", what+" in these statuses (space- or comma-separated)")
}

// instanceQuery reads the filter flags.
func instanceQuery(o *durableOptions) (durable.InstanceQuery, error) {
	var q durable.InstanceQuery
	var err error
	if q.CreatedFrom, err = parseCLITime("created-after", o.createdAfter); err != nil {
		return q, err
	}
	if q.CreatedTo, err = parseCLITime("created-before", o.createdBefore); err != nil {
		return q, err
	}
	if !q.CreatedFrom.IsZero() && !q.CreatedTo.IsZero() && q.CreatedTo.Before(q.CreatedFrom) {
		return q, fmt.Errorf("--created-before %s is before --created-after %s", o.createdBefore, o.createdAfter)
	}
	for _, s := range strings.FieldsFunc(o.statuses, func(r rune) bool { return r == ' ' || r == ',' }) {
		st, err := durable.ParseStatus(s)
		if err != nil {
			return q, fmt.Errorf("--runtime-status: %w", err)
		}
		q.Statuses = append(q.Statuses, st)
	}
	return q, nil
}

// cliTimeLayouts are the date and time forms the filter flags take.
var cliTimeLayouts = []string{
	time.RFC3339Nano, "2006-01-02T15:04Z07:00", "2006-01-02T15:04:05.999999999", "2006-01-02T15:04:05", "2006-01-02T15:04",
	"2006-01-02 15:04:05Z07:00", "2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02", "01/02/2006 15:04", "01/02/2006",
}

// parseCLITime reads a date and time flag; without an offset it is UTC,
// as in Core Tools. "" is the zero time (no filter).
func parseCLITime(flag, v string) (time.Time, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}, nil
	}
	for _, l := range cliTimeLayouts {
		if t, err := time.ParseInLocation(l, v, time.UTC); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("--%s %q: expected a date and time in UTC such as 2026-03-10T13:57:31Z, 2026-03-10 13:57 or 2026-03-10", flag, v)
}

func durableRaiseEventCommand(g *globals, o *durableOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "raise-event",
		Short: "Send an event to an orchestration instance",
		Long: `Send an external event to an orchestration instance that has not finished.
--event-data is the event's data: inline JSON, or @file for a file holding JSON
(default: null). The event waits in the instance's inbox until funcd start runs
the app.`,
		Example: `  funcd durable raise-event --id 0ab8c55a66644d68a3a8b220b12d209c --event-name Approval --event-data true
  funcd durable raise-event --id order-42 --event-name Payment --event-data @payment.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			data, err := readJSONArg("event-data", o.eventData)
			if err != nil {
				return err
			}
			name := o.eventName
			if name == "" {
				name = "Event_" + durable.NewInstanceID()
			}
			return withHub(cmd, g, o, func(ctx context.Context, d *durableHub) error {
				if err := d.client.RaiseEvent(ctx, o.id, name, data); err != nil {
					return d.instanceError(ctx, o.id, err)
				}
				fmt.Fprintf(g.stdout, "Raised event '%s' to instance '%s'.\n", name, o.id)
				return nil
			})
		},
	}
	idFlag(cmd, o)
	cmd.Flags().StringVar(&o.eventName, "event-name", "", "the event's name (default: Event_<random>, as Core Tools)")
	cmd.Flags().StringVar(&o.eventData, "event-data", "", "the event's data: JSON, or @file")
	return cmd
}

func durableTerminateCommand(g *globals, o *durableOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "terminate",
		Short: "Terminate an orchestration instance",
		Long: `Terminate an orchestration instance that has not finished. The instance becomes
Terminated, with --reason as its output, when funcd start runs the app.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withHub(cmd, g, o, func(ctx context.Context, d *durableHub) error {
				if err := d.client.Terminate(ctx, o.id, o.reason); err != nil {
					return d.instanceError(ctx, o.id, err)
				}
				fmt.Fprintf(g.stdout, "Sent a termination message to instance '%s'.\n", o.id)
				return nil
			})
		},
	}
	idFlag(cmd, o)
	cmd.Flags().StringVar(&o.reason, "reason", "", "why the instance is terminated")
	return cmd
}

// durableReasonCommand is suspend, resume or rewind: an operation on --id
// with a --reason.
func durableReasonCommand(g *globals, o *durableOptions, use, short string,
	op func(ctx context.Context, c *durable.Client, id, reason string) error, done string) *cobra.Command {
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withHub(cmd, g, o, func(ctx context.Context, d *durableHub) error {
				if err := op(ctx, d.client, o.id, o.reason); err != nil {
					return d.instanceError(ctx, o.id, err)
				}
				fmt.Fprintf(g.stdout, done+"\n", o.id)
				return nil
			})
		},
	}
	idFlag(cmd, o)
	cmd.Flags().StringVar(&o.reason, "reason", "", "why, recorded in the instance's history")
	return cmd
}

func durableRestartCommand(g *globals, o *durableOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "restart",
		Short: "Start an orchestration instance again with its original input",
		Long: `Start an orchestration instance's orchestrator again with the instance's
original input, as the HTTP API's restart does: under the same id, replacing
the instance whatever its status, or under a new id with --new-id.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withHub(cmd, g, o, func(ctx context.Context, d *durableHub) error {
				id, err := d.client.Restart(ctx, o.id, o.newID)
				if err != nil {
					return d.instanceError(ctx, o.id, err)
				}
				fmt.Fprintf(g.stdout, "Restarted instance '%s'. Instance ID: '%s'.\n", o.id, id)
				return nil
			})
		},
	}
	idFlag(cmd, o)
	cmd.Flags().BoolVar(&o.newID, "new-id", false, "restart under a new, random id (restartWithNewInstanceId)")
	return cmd
}

func durablePurgeCommand(g *globals, o *durableOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "purge-history",
		Short: "Delete orchestration instances with their history",
		Long: `Delete the orchestration instances created in a time range, with their
history and pending messages and tasks: every instance, whatever its status,
unless --runtime-status names the statuses to delete (Completed, Failed,
Terminated, Canceled, ...). Dates and times are in UTC, as in get-instances.`,
		Example: `  funcd durable purge-history --created-before 2026-03-01 --runtime-status "completed failed"`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			q, err := instanceQuery(o)
			if err != nil {
				return err
			}
			return withHub(cmd, g, o, func(ctx context.Context, d *durableHub) error {
				n, err := d.client.PurgeBy(ctx, q)
				if err != nil {
					return err
				}
				from, to := "the beginning", "now"
				if !q.CreatedFrom.IsZero() {
					from = "'" + apiTime(q.CreatedFrom) + "'"
				}
				if !q.CreatedTo.IsZero() {
					to = "'" + apiTime(q.CreatedTo) + "'"
				}
				msg := fmt.Sprintf("Purged orchestration history for all instances created between %s and %s", from, to)
				if len(q.Statuses) > 0 {
					names := make([]string, len(q.Statuses))
					for i, s := range q.Statuses {
						names[i] = s.String()
					}
					msg += " and whose runtime status matched one of the following: [" + strings.Join(names, ",") + "]"
				}
				fmt.Fprintf(g.stdout, "%s\nInstances deleted: %d\n", msg, n)
				return nil
			})
		},
	}
	timeFilterFlags(cmd, o, "delete the instances")
	return cmd
}

func durableDeleteHubCommand(g *globals, o *durableOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "delete-task-hub",
		Short: "Delete the task hub: every instance, history, message and task in it",
		Long: `Delete the task hub with everything in it: its orchestration and entity
instances, their history, and the messages and activity tasks waiting to run.
Stop funcd start for the app first: a running host keeps using the hub.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withHub(cmd, g, o, func(ctx context.Context, d *durableHub) error {
				if err := d.app.Backend.DeleteTaskHub(ctx, d.hub); err != nil {
					return fmt.Errorf("cannot delete task hub %s: %w", d.hub, funcd.RedactError(err))
				}
				fmt.Fprintf(g.stdout, "Task hub '%s' successfully deleted.\n", d.hub)
				return nil
			})
		},
	}
}
