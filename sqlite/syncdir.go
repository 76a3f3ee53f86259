package sqlite

import (
	"os"
	"runtime"
)

// syncDir makes a rename in dir durable. Windows cannot sync a folder, and
// makes renames durable itself.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
