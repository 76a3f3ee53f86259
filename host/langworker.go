package host

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/funcd/funcd"
	"github.com/funcd/funcd/appconfig"
	"github.com/funcd/funcd/worker/langworker"
	"github.com/funcd/funcd/worker/nodeworker"
	"github.com/funcd/funcd/worker/workerconfig"
)

// WorkerIndexer is a worker that may index the app's functions itself (a
// language worker with worker indexing). Functions is called after Start;
// it returns false when the app's function.json files are the index.
type WorkerIndexer interface {
	Functions(ctx context.Context) ([]appconfig.WorkerFunction, bool, error)
}

// languageWorkers holds funcd's own workers folder, installed on first use.
type languageWorkers struct {
	once   sync.Once
	folder string
	err    error
}

// folders returns the folders of worker folders funcd searches after the
// ones the app's settings name: Config.WorkerFolders, then funcd's own
// workers (the embedded Node.js worker), installed in the user's cache
// folder, else in the state folder.
func (h *Host) workerFolders() ([]string, error) {
	lw := &h.langWorkers
	lw.once.Do(func() {
		base, err := os.UserCacheDir()
		if err != nil || base == "" {
			base = h.cfg.StateDir
		}
		lw.folder, lw.err = nodeworker.InstallWorkers(filepath.Join(base, "funcd", "workers"))
		if lw.err != nil {
			lw.folder, lw.err = nodeworker.InstallWorkers(filepath.Join(h.cfg.StateDir, "workers"))
		}
	})
	if lw.err != nil {
		return nil, fmt.Errorf("cannot install funcd's Node.js worker: %w", lw.err)
	}
	return append(append([]string(nil), h.cfg.WorkerFolders...), lw.folder), nil
}

// workerRuntimes reports which FUNCTIONS_WORKER_RUNTIME values funcd has a
// worker for, with the app's settings: its own (node, golang) and those of
// the worker.config.json files in the folders the settings and
// Config.WorkerFolders name.
func (h *Host) workerRuntimes(settings map[string]string) func(string) bool {
	var once sync.Once
	found := map[string]bool{"node": true, workerconfig.GolangLanguage: true}
	return func(runtime string) bool {
		once.Do(func() {
			configs, _ := workerconfig.Discover(workerconfig.Options{
				AppRoot: h.cfg.ScriptRoot, Folders: h.cfg.WorkerFolders, Settings: workerconfig.Settings(settings),
			})
			for _, c := range configs {
				found[strings.ToLower(c.Description.Language)] = true
			}
		})
		return found[strings.ToLower(runtime)]
	}
}

// languageWorker makes the worker of an app FUNCTIONS_WORKER_RUNTIME gives
// to a language worker, building a Go app first when its binary is missing
// or older than its sources.
func (h *Host) languageWorker(app *funcd.App, opts WorkerOptions) (Worker, error) {
	folders, err := h.workerFolders()
	if err != nil {
		return nil, err
	}
	if app.WorkerRuntime == workerconfig.GolangLanguage {
		if err := langworker.BuildGoApp(context.Background(), app, opts.Logger); err != nil {
			return nil, err
		}
	}
	return langworker.New(langworker.Config{
		App: app, Folders: folders, HostVersion: Version, Buffers: h.buffers, Logger: opts.Logger, Clock: h.clock,
		OnFatal: opts.OnFatal, ExitOnFailure: opts.ExitOnFailure,
	})
}
