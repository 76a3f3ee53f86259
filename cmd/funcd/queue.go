package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/funcd/funcd/httpapi"
	"github.com/funcd/funcd/storage"
)

const queueHelp = `Put, peek, list and clear the app's queue messages.

` + storageHelp + `

A message put while funcd start runs reaches its queue trigger on the
listener's next poll: at most maxPollingInterval later (host.json
extensions.queues; 2 seconds in Development, as funcd start runs, 1 minute
otherwise). A message put through the running host's admin API
(POST /admin/funcd/queues/{queue}/messages) wakes the listener at once.`

const queuePutHelp = `Put a message on a queue, creating the queue if needed. The message is the
argument, or the contents of --file, or stdin with - (or --file -).

By default the message is base64-encoded before it is stored, as a queue
trigger expects with its default messageEncoding (base64), and as Azure
Storage Explorer and the Azure portal store a message with "Encode the message
body in Base64" (on by default). Use --encoding none when the app's host.json
sets extensions.queues.messageEncoding to "none", or to store text that is
already encoded: az storage message put stores --content as given, so scripts
that base64-encode for it must pass --encoding none here.

A running funcd start finds the message on its queue listener's next poll, at
most maxPollingInterval later (2 seconds in Development, as funcd start runs).`

// queueOptions are the flags of the queue commands.
type queueOptions struct {
	storageOptions
	file            string
	encoding        string
	visibilityDelay string
	ttl             string
	count           int
	json            bool
}

func queueCommand(g *globals) *cobra.Command {
	var o queueOptions
	cmd := &cobra.Command{
		Use:   "queue",
		Short: "Put, peek, list and clear queue messages in the app's storage",
		Long:  queueHelp,
	}
	storageFlags(cmd, &o.storageOptions)
	cmd.AddCommand(queuePutCommand(g, &o), queuePeekCommand(g, &o), queueListCommand(g, &o), queueClearCommand(g, &o))
	return cmd
}

// encodingFlag adds --encoding.
func encodingFlag(cmd *cobra.Command, o *queueOptions, usage string) {
	cmd.Flags().StringVar(&o.encoding, "encoding", "base64", usage)
}

func queuePutCommand(g *globals, o *queueOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "put QUEUE [MESSAGE|-]",
		Short: "Put a message on a queue (base64-encoded, as a queue trigger expects by default)",
		Long:  queuePutHelp,
		Example: `  funcd queue put orders '{"id": 42}'
  echo 'hello' | funcd queue put orders -
  funcd queue put orders --file message.json --ttl 1h --visibility-delay 30s`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return queuePut(cmd.Context(), g, o, args)
		},
	}
	cmd.Flags().StringVarP(&o.file, "file", "f", "", "read the message from this file (- for stdin)")
	encodingFlag(cmd, o, "base64 (what a queue trigger expects by default) or none (store the text as given)")
	cmd.Flags().StringVar(&o.visibilityDelay, "visibility-delay", "0", "hide the message for this long (30s, 5m, or seconds)")
	cmd.Flags().StringVar(&o.ttl, "ttl", "", "time to live (1h, or seconds; -1 never expires) (default 7 days)")
	return cmd
}

func queuePut(ctx context.Context, g *globals, o *queueOptions, args []string) error {
	name, err := checkQueueName(args[0])
	if err != nil {
		return err
	}
	var text []byte
	switch {
	case len(args) == 2 && o.file != "":
		return fmt.Errorf("give the message as an argument or with --file, not both")
	case len(args) == 2 && args[1] == "-", o.file != "":
		path := o.file
		if path == "" {
			path = "-"
		}
		if text, err = readInput(g, path, storage.MaxMessageSize); err != nil {
			return err
		}
	case len(args) == 2:
		text = []byte(args[1])
	default:
		return fmt.Errorf("no message: give it as an argument, with --file, or on stdin with -")
	}
	body, err := encodeMessage(o.encoding, text)
	if err != nil {
		return err
	}
	delay, err := parseSeconds("visibility-delay", o.visibilityDelay, false)
	if err != nil {
		return err
	}
	ttl := storage.DefaultMessageTTL
	if o.ttl != "" {
		if ttl, err = parseSeconds("ttl", o.ttl, true); err != nil {
			return err
		}
	}
	p, closer, err := openStorage(ctx, g, &o.storageOptions)
	if err != nil {
		return err
	}
	defer closer.Close()
	m, err := p.Queues.Enqueue(ctx, name, body, delay, ttl)
	if err != nil {
		return storageError("queue "+name, err)
	}
	expires := "never expires"
	if !m.ExpirationTime.IsZero() {
		expires = "expires " + m.ExpirationTime.UTC().Format(time.RFC3339)
	}
	fmt.Fprintf(g.stdout, "Put message %s on queue %s (%d bytes stored, %s encoding; %s).\n", m.ID, name, len(body), strings.ToLower(o.encoding), expires)
	return nil
}

func queuePeekCommand(g *globals, o *queueOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "peek QUEUE",
		Short: "Show the next visible messages of a queue without taking them",
		Long: `Show up to -n visible messages of a queue, oldest first, without changing
them: each one's id, dequeue count, insertion and expiration times, and its
text, decoded from base64 (--encoding none shows it as stored). --json prints
a JSON array for scripts.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return queuePeek(cmd.Context(), g, o, args[0])
		},
	}
	cmd.Flags().IntVarP(&o.count, "count", "n", 32, "how many messages to show (1 to 32)")
	encodingFlag(cmd, o, "how the messages were stored: base64 or none")
	cmd.Flags().BoolVar(&o.json, "json", false, "print a JSON array")
	return cmd
}

func queuePeek(ctx context.Context, g *globals, o *queueOptions, arg string) error {
	name, err := checkQueueName(arg)
	if err != nil {
		return err
	}
	if o.count < 1 || o.count > 32 {
		return fmt.Errorf("-n %d: expected 1 to 32 (Azure Storage's limit for a peek)", o.count)
	}
	if _, err := encodeMessage(o.encoding, nil); err != nil {
		return err
	}
	p, closer, err := openStorage(ctx, g, &o.storageOptions)
	if err != nil {
		return err
	}
	defer closer.Close()
	if err := queueMustExist(ctx, p.Queues, name); err != nil {
		return err
	}
	msgs, err := p.Queues.Peek(ctx, name, o.count)
	if err != nil {
		return storageError("queue "+name, err)
	}
	views := make([]httpapi.MessageJSON, len(msgs))
	for i, m := range msgs {
		views[i] = httpapi.MessageOf(m, o.encoding)
	}
	if o.json {
		enc := json.NewEncoder(g.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(views)
	}
	if len(views) == 0 {
		fmt.Fprintf(g.stdout, "Queue %s has no visible messages.\n", name)
		return nil
	}
	for i, v := range views {
		if i > 0 {
			fmt.Fprintln(g.stdout)
		}
		expires := "never"
		if v.ExpirationTime != nil {
			expires = v.ExpirationTime.Format(time.RFC3339)
		}
		fmt.Fprintf(g.stdout, "Message %s\n  dequeue count: %d\n  inserted:      %s\n  expires:       %s\n",
			v.ID, v.DequeueCount, v.InsertionTime.Format(time.RFC3339), expires)
		if v.Text != nil {
			fmt.Fprintf(g.stdout, "  text:\n%s\n", indent(*v.Text))
		} else {
			fmt.Fprintf(g.stdout, "  stored (not %s text):\n%s\n", o.encoding, indent(v.MessageText))
		}
	}
	return nil
}

// indent indents every line of s by four spaces.
func indent(s string) string {
	return "    " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n    ")
}

// queueMustExist is ErrNotFound's message for a queue that does not exist.
func queueMustExist(ctx context.Context, qs storage.Queues, name string) error {
	list, err := qs.ListQueues(ctx, name)
	if err != nil {
		return storageError("queue "+name, err)
	}
	for _, q := range list {
		if q.Name == name {
			return nil
		}
	}
	return fmt.Errorf("queue %s does not exist", name)
}

func queueListCommand(g *globals, o *queueOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the queues with their message counts (visible or not)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			p, closer, err := openStorage(ctx, g, &o.storageOptions)
			if err != nil {
				return err
			}
			defer closer.Close()
			list, err := p.Queues.ListQueues(ctx, "")
			if err != nil {
				return storageError("list queues", err)
			}
			tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "QUEUE\tMESSAGES")
			for _, q := range list {
				fmt.Fprintf(tw, "%s\t%d\n", q.Name, q.Messages)
			}
			return tw.Flush()
		},
	}
}

func queueClearCommand(g *globals, o *queueOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "clear QUEUE",
		Short: "Delete every message of a queue",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			name, err := checkQueueName(args[0])
			if err != nil {
				return err
			}
			p, closer, err := openStorage(ctx, g, &o.storageOptions)
			if err != nil {
				return err
			}
			defer closer.Close()
			if err := p.Queues.Clear(ctx, name); err != nil {
				return storageError("queue "+name, err)
			}
			fmt.Fprintf(g.stdout, "Cleared queue %s.\n", name)
			return nil
		},
	}
}
