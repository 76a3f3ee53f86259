// Package blob implements the blobTrigger trigger and the blob input and
// output bindings, following the storage extension's design: a scanner per
// function finds new or changed blobs and enqueues a message for each on
// the host's blob trigger queue; a processor on that queue checks the blob
// is still the same version, claims its receipt, invokes the function and
// marks the receipt complete, so that every blob version is processed once
// across restarts and hosts sharing a store.
package blob

import (
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"time"

	"github.com/funcd/funcd"
	"github.com/funcd/funcd/binding"
	"github.com/funcd/funcd/binding/bindexpr"
)

// Binding types, as function.json writes them.
const (
	TriggerType = "blobTrigger"
	BlobType    = "blob"
)

// Names and timings of the real host.
const (
	// QueuePrefix names the host's blob trigger queue: QueuePrefix+hostID.
	QueuePrefix = "azure-webjobs-blobtrigger-"
	// PoisonQueue receives the messages of blobs that failed
	// poisonBlobThreshold times.
	PoisonQueue = "webjobs-blobtrigger-poison"
	// ScanInterval is how often a container is listed (and, for a store
	// with a change feed, how often the feed is read without a signal).
	ScanInterval = 10 * time.Second
	// ReceiptTTL is the claim on a blob version while its function runs;
	// it is renewed every third of it.
	ReceiptTTL = 30 * time.Second
	// DefaultPoisonBlobThreshold is extensions.blobs.poisonBlobThreshold's
	// default.
	DefaultPoisonBlobThreshold = 5
)

// Trigger sources (function.json "source").
const (
	SourceScan      = "LogsAndContainerScan"
	SourceEventGrid = "EventGrid"
)

// FunctionID is the id the real host gives a script function in blob
// trigger messages and receipts.
func FunctionID(fn *funcd.Function) string { return "Host.Functions." + fn.Name }

// config is a blob binding's function.json properties, checked.
type config struct {
	path       string
	tpl        *bindexpr.Template
	container  string // the path's part before the first '/'
	connection string
	source     string
	binary     bool
}

func configError(field, msg, hint string) *funcd.ConfigError {
	return &funcd.ConfigError{Field: field, Msg: msg, Hint: hint}
}

// parseConfig reads and checks a binding's properties.
func parseConfig(b *funcd.Binding, trigger bool) (*config, error) {
	c := &config{
		path:       binding.StringProperty(b, "path"),
		connection: binding.StringProperty(b, "connection"),
	}
	if c.path == "" {
		return nil, configError("path", "The 'path' property is required.",
			`Set "path" to "container/blob pattern", for example "samples/{name}".`)
	}
	switch strings.ToLower(b.DataType) {
	case "", "string":
	case "binary", "stream":
		c.binary = true
	default:
		return nil, configError("dataType", fmt.Sprintf("Invalid dataType '%s'.", b.DataType),
			`Use "string" or "binary".`)
	}
	slash := strings.IndexByte(c.path, '/')
	c.container = c.path
	if slash >= 0 {
		c.container = c.path[:slash]
	}
	if trigger {
		if err := c.checkTriggerPath(slash); err != nil {
			return nil, err
		}
		src := binding.StringProperty(b, "source")
		switch {
		case src == "" || strings.EqualFold(src, SourceScan):
			c.source = SourceScan
		case strings.EqualFold(src, SourceEventGrid):
			c.source = SourceEventGrid
		default:
			return nil, configError("source", fmt.Sprintf("Invalid source '%s'.", src),
				`Use "LogsAndContainerScan" (the default) or "EventGrid".`)
		}
		return c, nil
	}
	tpl, err := bindexpr.Parse(c.path)
	if err != nil {
		return nil, configError("path", err.Error(), "Braces that are not an expression are written {{ and }}.")
	}
	c.tpl = tpl
	if !tpl.HasParameters() {
		if _, _, err := splitPath(c.path); err != nil {
			return nil, configError("path", err.Error(), `Write the path as "container/blob".`)
		}
	} else if !strings.Contains(c.container, "{") && !validContainer(c.container) {
		return nil, configError("path", "Invalid container name: "+c.container, containerHint)
	}
	return c, nil
}

const containerHint = "Container names are 3 to 63 lower-case letters, digits and single hyphens, starting and ending with a letter or digit."

// checkTriggerPath applies the real host's BlobPathSource rules.
func (c *config) checkTriggerPath(slash int) error {
	hasBlob := slash >= 0
	if (hasBlob && (slash == 0 || slash == len(c.path)-1)) || strings.Contains(c.container, `\`) {
		return configError("path", fmt.Sprintf("Invalid blob trigger path '%s'. Paths must be in the format 'container/blob'.", c.path),
			`Write the path as "container/blob pattern", for example "samples/{name}".`)
	}
	if strings.Contains(c.container, "{") {
		return configError("path", fmt.Sprintf("Invalid blob trigger path '%s'. Container paths cannot contain {resolve} tokens.", c.path),
			"A blob trigger watches one container: name it literally.")
	}
	tpl, err := bindexpr.Parse(c.path)
	if err != nil {
		return configError("path", err.Error(), "Braces that are not an expression are written {{ and }}.")
	}
	if err := tpl.CheckCapture(); err != nil {
		return configError("path", err.Error(), "A trigger path may only capture plain names, such as {name}.")
	}
	if !validContainer(c.container) {
		return configError("path", "Invalid container name: "+c.container, containerHint)
	}
	if hasBlob && !tpl.HasParameters() {
		if err := checkBlobName(c.path[slash+1:]); err != nil {
			return configError("path", err.Error(), "")
		}
	}
	c.tpl = tpl
	return nil
}

// matches reports whether a blob belongs to the trigger and returns the
// path's captures. The container compares case-insensitively, the rest of
// the path as the template matches it; a container-only path takes every
// blob.
func (c *config) matches(container, name string) (map[string]string, bool) {
	if !strings.EqualFold(container, c.container) {
		return nil, false
	}
	if !strings.Contains(c.path, "/") {
		return map[string]string{}, true
	}
	return c.tpl.Match(container + "/" + name)
}

// validContainer applies Azure Storage's container naming rules ($root
// included), as the real host checks them.
func validContainer(s string) bool {
	if s == "$root" {
		return true
	}
	if len(s) < 3 || len(s) > 63 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c == '-' && i > 0 && i < len(s)-1 && s[i-1] != '-':
		default:
			return false
		}
	}
	return true
}

// checkBlobName applies the real host's blob name rules, with its texts.
func checkBlobName(name string) error {
	switch {
	case name == "":
		//lint:ignore ST1005 the real host's text
		return fmt.Errorf("The given blob name '%s' is too short. A blob name must be at least one character long and cannot be more than 1,024 characters long.", name)
	case len([]rune(name)) > 1024:
		//lint:ignore ST1005 the real host's text
		return fmt.Errorf("The given blob name '%s' is too long. A blob name must be at least one character long and cannot be more than 1,024 characters long.", name)
	case strings.HasSuffix(name, ".") || strings.HasSuffix(name, "/"):
		//lint:ignore ST1005 the real host's text
		return fmt.Errorf("The given blob name '%s' has an invalid suffix. Avoid blob names that end with a dot ('.'), a forward slash ('/'), or a sequence or combination of the two.", name)
	case strings.Contains(name, `\`):
		//lint:ignore ST1005 the real host's text
		return fmt.Errorf(`The given blob name '%s' contain illegal characters. A blob name cannot the following character(s): '\'.`, name)
	}
	return nil
}

// splitPath splits a resolved "container/blob" path and checks both
// parts, with the real host's BlobPath texts.
func splitPath(p string) (container, name string, err error) {
	slash := strings.IndexByte(p, '/')
	if slash <= 0 || slash == len(p)-1 {
		//lint:ignore ST1005 the real host's text
		return "", "", fmt.Errorf("Invalid blob path specified : '%s'. Blob identifiers must be in the format 'container/blob'.", p)
	}
	container, name = p[:slash], p[slash+1:]
	if !validContainer(container) {
		//lint:ignore ST1005 the real host's text
		return "", "", fmt.Errorf("Invalid container name: %s", container)
	}
	if err := checkBlobName(name); err != nil {
		return "", "", err
	}
	return container, name, nil
}

// options are host.json's extensions.blobs.
type options struct {
	MaxDegreeOfParallelism int `json:"maxDegreeOfParallelism"`
	PoisonBlobThreshold    int `json:"poisonBlobThreshold"`
}

// readOptions reads extensions.blobs with the real host's defaults:
// 8 per processor, 5.
func readOptions(env *binding.Env) (options, error) {
	o := options{MaxDegreeOfParallelism: 8 * runtime.NumCPU(), PoisonBlobThreshold: DefaultPoisonBlobThreshold}
	raw, ok := env.Extensions["blobs"]
	if !ok {
		return o, nil
	}
	var set struct {
		MaxDegreeOfParallelism *int `json:"maxDegreeOfParallelism"`
		PoisonBlobThreshold    *int `json:"poisonBlobThreshold"`
	}
	if err := json.Unmarshal(raw, &set); err != nil {
		return o, &funcd.ConfigError{File: "host.json", Field: "extensions.blobs", Msg: err.Error(),
			Hint: `"maxDegreeOfParallelism" and "poisonBlobThreshold" are whole numbers.`}
	}
	if p := set.MaxDegreeOfParallelism; p != nil {
		if *p < 1 {
			return o, &funcd.ConfigError{File: "host.json", Field: "extensions.blobs.maxDegreeOfParallelism",
				Msg: fmt.Sprintf("maxDegreeOfParallelism must be at least 1, not %d.", *p)}
		}
		o.MaxDegreeOfParallelism = *p
	}
	if p := set.PoisonBlobThreshold; p != nil {
		if *p < 1 {
			return o, &funcd.ConfigError{File: "host.json", Field: "extensions.blobs.poisonBlobThreshold",
				Msg: fmt.Sprintf("poisonBlobThreshold must be at least 1, not %d.", *p)}
		}
		o.PoisonBlobThreshold = *p
	}
	return o, nil
}

// batch maps maxDegreeOfParallelism to the queue processor's batch size and
// new batch threshold, as the real host does: together they allow mdop
// invocations at once.
func batch(mdop int) (size, threshold int) {
	size = min(mdop/2+1, 32)
	return size, mdop - size
}
