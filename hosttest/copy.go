package hosttest

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// CopyApp copies the app folder src into a new temporary folder and returns
// its path, so a test can build a handler into it or change its files
// without touching testdata.
func CopyApp(t testing.TB, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatalf("hosttest: cannot copy %s: %v", src, err)
	}
	return dst
}
