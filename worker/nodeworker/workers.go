package nodeworker

import (
	"fmt"
	"path/filepath"
)

// Language is the FUNCTIONS_WORKER_RUNTIME value the worker serves.
const Language = "node"

// workerConfig is the worker.config.json installed beside the worker: the
// description the Functions host's own Node.js worker has, with funcd's
// worker as defaultWorkerPath.
const workerConfig = `{
  "description": {
    "language": "node",
    "extensions": [".js", ".mjs", ".cjs"],
    "defaultExecutablePath": "node",
    "defaultWorkerPath": "worker.js",
    "workerIndexing": "true"
  }
}
`

// InstallWorkers installs the worker as a workers folder, the layout the
// Functions host reads: dir/<Version>/node/ holds worker.config.json and
// the worker's files. It returns dir/<Version>, the folder to search for
// workers (package workerconfig). Like Install, it reuses a folder already
// holding this version and never leaves a half-written one.
func InstallWorkers(dir string) (string, error) {
	version, contents := digest()
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("nodeworker: %w", err)
	}
	contents["worker.config.json"] = []byte(workerConfig)
	folder := filepath.Join(dir, version)
	if err := install(filepath.Join(folder, Language), contents); err != nil {
		return "", err
	}
	return folder, nil
}
