package main

import (
	"context"
	"fmt"
	"io"
	"mime"
	"os"
	"path"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/funcd/funcd/storage"
)

const blobHelp = `Put, get, list and delete the app's blobs.

` + storageHelp + `

A blob put while funcd start runs reaches its blob trigger as the trigger
finds new blobs: at once on funcd's own store when the blob is put through the
running host's admin API (PUT /admin/funcd/blobs/{container}/{name}), else on
the trigger's next poll.`

// blobOptions are the flags of the blob commands.
type blobOptions struct {
	storageOptions
	contentType string
	output      string
}

func blobCommand(g *globals) *cobra.Command {
	var o blobOptions
	cmd := &cobra.Command{
		Use:   "blob",
		Short: "Put, get, list and delete blobs in the app's storage",
		Long:  blobHelp,
	}
	storageFlags(cmd, &o.storageOptions)
	cmd.AddCommand(blobPutCommand(g, &o), blobGetCommand(g, &o), blobListCommand(g, &o), blobDeleteCommand(g, &o))
	return cmd
}

func blobPutCommand(g *globals, o *blobOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "put CONTAINER/NAME FILE|-",
		Short: "Write a blob from a file or stdin, creating the container if needed",
		Long: `Write a blob from a file, or from stdin with -, replacing any blob of that
name, and creating the container if needed. The content type is --content-type,
else guessed from the extension of the blob's name (then the file's), else
application/octet-stream.`,
		Example: "  funcd blob put samples-workitems/order-1.json order.json\n  tar c . | funcd blob put backups/site.tar - --content-type application/x-tar",
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return blobPut(cmd.Context(), g, o, args[0], args[1])
		},
	}
	cmd.Flags().StringVar(&o.contentType, "content-type", "", "the blob's content type (default: guessed from the extension)")
	return cmd
}

// guessContentType is the content type of a blob without --content-type.
func guessContentType(name, file string) string {
	for _, n := range []string{name, file} {
		if ext := path.Ext(n); ext != "" {
			if t := mime.TypeByExtension(ext); t != "" {
				return t
			}
		}
	}
	return "application/octet-stream"
}

func blobPut(ctx context.Context, g *globals, o *blobOptions, arg, file string) error {
	container, name, err := splitBlobPath(arg)
	if err != nil {
		return err
	}
	var body io.Reader = g.stdin
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return err
		}
		defer f.Close()
		body = f
	} else {
		file = ""
	}
	ct := o.contentType
	if ct == "" {
		ct = guessContentType(name, file)
	}
	p, closer, err := openStorage(ctx, g, &o.storageOptions)
	if err != nil {
		return err
	}
	defer closer.Close()
	props, err := p.Blobs.PutBlob(ctx, container, name, body, storage.PutBlobOptions{ContentType: ct})
	if err != nil {
		return storageError("blob "+arg, err)
	}
	fmt.Fprintf(g.stdout, "Put blob %s/%s (%d bytes, %s, ETag %s).\n", container, name, props.Size, props.ContentType, props.ETag)
	return nil
}

func blobGetCommand(g *globals, o *blobOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "get CONTAINER/NAME",
		Short: "Write a blob's bytes to stdout, or to a file with -o",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return blobGet(cmd.Context(), g, o, args[0])
		},
	}
	cmd.Flags().StringVarP(&o.output, "output", "o", "", "write the blob to this file instead of stdout")
	return cmd
}

func blobGet(ctx context.Context, g *globals, o *blobOptions, arg string) (err error) {
	container, name, err := splitBlobPath(arg)
	if err != nil {
		return err
	}
	p, closer, err := openStorage(ctx, g, &o.storageOptions)
	if err != nil {
		return err
	}
	defer closer.Close()
	r, _, err := p.Blobs.OpenBlob(ctx, container, name)
	if err != nil {
		return storageError("blob "+arg, err)
	}
	defer r.Close()
	if o.output == "" {
		_, err = io.Copy(g.stdout, r)
		return err
	}
	// Write beside the file and rename, so that a failed read leaves no
	// half-written file behind.
	tmp, err := os.CreateTemp(filepath.Dir(o.output), "."+filepath.Base(o.output)+".*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err = io.Copy(tmp, r); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), o.output)
}

func blobListCommand(g *globals, o *blobOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "list [CONTAINER[/PREFIX]]",
		Short: "List the containers, or a container's blobs (those whose names start with PREFIX)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			var container, prefix string
			if len(args) == 1 {
				c, rest, _ := strings.Cut(args[0], "/")
				if err := storage.CheckContainerName(c); err != nil {
					return fmt.Errorf("invalid container in %q: %w", args[0], err)
				}
				container, prefix = c, rest
			}
			p, closer, err := openStorage(ctx, g, &o.storageOptions)
			if err != nil {
				return err
			}
			defer closer.Close()
			tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
			if container == "" {
				list, err := p.Blobs.ListContainers(ctx)
				if err != nil {
					return storageError("list containers", err)
				}
				fmt.Fprintln(tw, "CONTAINER")
				for _, c := range list {
					fmt.Fprintln(tw, c)
				}
				return tw.Flush()
			}
			fmt.Fprintln(tw, "NAME\tSIZE\tCONTENT TYPE\tLAST MODIFIED")
			err = eachBlob(ctx, p.Blobs, container, prefix, func(b storage.BlobProps) {
				fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", b.Name, b.Size, b.ContentType, b.LastModified.UTC().Format(time.RFC3339))
			})
			if err != nil {
				return storageError("container "+container, err)
			}
			return tw.Flush()
		},
	}
}

// eachBlob calls fn for every blob of the container whose name starts with
// prefix, page by page.
func eachBlob(ctx context.Context, bs storage.Blobs, container, prefix string, fn func(storage.BlobProps)) error {
	marker := ""
	for {
		page, next, err := bs.ListBlobs(ctx, container, prefix, marker, 1000)
		if err != nil {
			return err
		}
		for _, b := range page {
			fn(b)
		}
		if next == "" {
			return nil
		}
		marker = next
	}
}

func blobDeleteCommand(g *globals, o *blobOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "delete CONTAINER/NAME",
		Short: "Delete a blob",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			container, name, err := splitBlobPath(args[0])
			if err != nil {
				return err
			}
			p, closer, err := openStorage(ctx, g, &o.storageOptions)
			if err != nil {
				return err
			}
			defer closer.Close()
			if err := p.Blobs.DeleteBlob(ctx, container, name, ""); err != nil {
				return storageError("blob "+args[0], err)
			}
			fmt.Fprintf(g.stdout, "Deleted blob %s/%s.\n", container, name)
			return nil
		},
	}
}
