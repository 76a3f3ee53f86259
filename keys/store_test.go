package keys

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/funcd/funcd"
)

// copyTestdata copies testdata files into dir under new names.
func copyTestdata(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for from, to := range files {
		if err := os.WriteFile(filepath.Join(dir, to), readFile(t, filepath.Join("testdata", from)), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func TestFileStoreRoundTrip(t *testing.T) {
	ctx := context.Background()
	src := FileStore{Dir: t.TempDir()}
	copyTestdata(t, src.Dir, map[string]string{"host.v1.json": "host.json", "hello.v1.json": "hello.json"})
	dst := FileStore{Dir: filepath.Join(t.TempDir(), "secrets")}

	hs, err := src.ReadHostSecrets(ctx)
	if err != nil || hs == nil {
		t.Fatalf("ReadHostSecrets = %v, %v", hs, err)
	}
	// Function names are case-insensitive; the file name is lower case.
	fs, err := src.ReadFunctionSecrets(ctx, "Hello")
	if err != nil || fs == nil {
		t.Fatalf("ReadFunctionSecrets = %v, %v", fs, err)
	}
	if err := dst.WriteHostSecrets(ctx, hs); err != nil {
		t.Fatal(err)
	}
	if err := dst.WriteFunctionSecrets(ctx, "HELLO", fs); err != nil {
		t.Fatal(err)
	}
	for file, golden := range map[string]string{"host.json": "host.v1.json", "hello.json": "hello.v1.json"} {
		got := readFile(t, filepath.Join(dst.Dir, file))
		if want := readFile(t, filepath.Join("testdata", golden)); !bytes.Equal(got, want) {
			t.Errorf("%s:\n%s\nwant:\n%s", file, got, want)
		}
	}
	entries, _ := os.ReadDir(dst.Dir)
	if len(entries) != 2 {
		t.Errorf("secrets folder holds %d entries, want host.json and hello.json only", len(entries))
	}
}

func TestFileStoreMissing(t *testing.T) {
	ctx := context.Background()
	s := FileStore{Dir: filepath.Join(t.TempDir(), "none")}
	if hs, err := s.ReadHostSecrets(ctx); hs != nil || err != nil {
		t.Errorf("ReadHostSecrets = %v, %v; want nil, nil", hs, err)
	}
	if fs, err := s.ReadFunctionSecrets(ctx, "hello"); fs != nil || err != nil {
		t.Errorf("ReadFunctionSecrets = %v, %v; want nil, nil", fs, err)
	}
	if err := s.DeleteFunctionSecrets(ctx, "hello"); err != nil {
		t.Errorf("DeleteFunctionSecrets of missing secrets = %v", err)
	}
}

func TestFileStorePermissions(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permissions")
	}
	s := FileStore{Dir: filepath.Join(t.TempDir(), "state", "secrets")}
	ctx := context.Background()
	if err := s.WriteHostSecrets(ctx, &HostSecrets{}); err != nil {
		t.Fatal(err)
	}
	if err := s.WriteFunctionSecrets(ctx, "hello", &FunctionSecrets{}); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{s.Dir, filepath.Dir(s.Dir)} {
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o700 {
			t.Errorf("%s: mode %v, %v; want 0700", path, fi.Mode().Perm(), err)
		}
	}
	for _, name := range []string{"host.json", "hello.json"} {
		if fi, err := os.Stat(filepath.Join(s.Dir, name)); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, %v; want 0600", name, fi.Mode().Perm(), err)
		}
	}
}

// Readers never see a partly written file while writers replace it.
func TestFileStoreAtomicWrite(t *testing.T) {
	ctx := context.Background()
	s := FileStore{Dir: t.TempDir()}
	big := make([]Key, 200)
	for i := range big {
		big[i] = Key{Name: fmt.Sprint("k", i), Value: Generate(Function)}
	}
	if err := s.WriteHostSecrets(ctx, &HostSecrets{FunctionKeys: big}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 25 {
				n := 1 + (w*25+i)%len(big)
				if err := s.WriteHostSecrets(ctx, &HostSecrets{FunctionKeys: big[:n]}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	for range 4 {
		wg.Go(func() {
			for range 200 {
				hs, err := s.ReadHostSecrets(ctx)
				if err != nil || hs == nil || len(hs.FunctionKeys) == 0 {
					t.Errorf("read during writes: %v, %v", hs, err)
					return
				}
			}
		})
	}
	wg.Wait()
	entries, _ := os.ReadDir(s.Dir)
	if len(entries) != 1 {
		t.Errorf("secrets folder holds %d entries after writes, want host.json only", len(entries))
	}
}

// A write that fails leaves no temporary file behind.
func TestFileStoreFailedWriteCleansUp(t *testing.T) {
	s := FileStore{Dir: t.TempDir()}
	// A non-empty directory in the way of the rename.
	if err := os.MkdirAll(filepath.Join(s.Dir, "hello.json", "x"), 0o700); err != nil {
		t.Fatal(err)
	}
	err := s.WriteFunctionSecrets(context.Background(), "hello", &FunctionSecrets{})
	if err == nil || !strings.Contains(err.Error(), filepath.Join(s.Dir, "hello.json")) {
		t.Fatalf("write over a directory = %v, want an error naming the file", err)
	}
	entries, _ := os.ReadDir(s.Dir)
	if len(entries) != 1 {
		t.Errorf("secrets folder holds %d entries, want only the directory", len(entries))
	}
}

func TestFileStoreMalformedNamesFile(t *testing.T) {
	s := FileStore{Dir: t.TempDir()}
	path := filepath.Join(s.Dir, "host.json")
	const content = `{"masterKey": {"name": "master", "value": "x"}` // truncated
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := s.ReadHostSecrets(context.Background())
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "expected a V1 host secrets object") {
		t.Errorf("ReadHostSecrets = %v, want an error naming %s and the expected shape", err, path)
	}
}

func TestFileStoreInvalidFunctionNames(t *testing.T) {
	ctx := context.Background()
	s := FileStore{Dir: t.TempDir()}
	for _, name := range []string{"", "../host", "a/b", `a\b`, "host", "HOST", "1abc", "a.b", "_a", strings.Repeat("a", 129), "é"} {
		_, err := s.ReadFunctionSecrets(ctx, name)
		if funcd.ErrorCode(err) != funcd.EINVALID {
			t.Errorf("ReadFunctionSecrets(%q) = %v, want EINVALID", name, err)
		}
		if err := s.WriteFunctionSecrets(ctx, name, &FunctionSecrets{}); funcd.ErrorCode(err) != funcd.EINVALID {
			t.Errorf("WriteFunctionSecrets(%q) = %v, want EINVALID", name, err)
		}
	}
	for _, name := range []string{"a", "Hello_World-2", "hosts", strings.Repeat("a", 128)} {
		if _, err := s.ReadFunctionSecrets(ctx, name); err != nil {
			t.Errorf("ReadFunctionSecrets(%q) = %v", name, err)
		}
	}
}

func TestFileStoreCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s := FileStore{Dir: t.TempDir()}
	if err := s.WriteHostSecrets(ctx, &HostSecrets{}); err != context.Canceled {
		t.Errorf("WriteHostSecrets with canceled context = %v", err)
	}
	if _, err := s.ReadHostSecrets(ctx); err != context.Canceled {
		t.Errorf("ReadHostSecrets with canceled context = %v", err)
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent writes, for log output.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func TestOpen(t *testing.T) {
	state := t.TempDir()
	def := filepath.Join(state, "secrets")
	tests := []struct {
		name     string
		settings map[string]string
		dir      string
		warn     string
	}{
		{"unset", nil, def, ""},
		{"files", map[string]string{"AzureWebJobsSecretStorageType": "files"}, def, ""},
		{"Files with path", map[string]string{"AzureWebJobsSecretStorageType": "Files", "FUNCTIONS_SECRETS_PATH": "/srv/keys"}, "/srv/keys", ""},
		{"path without files", map[string]string{"FUNCTIONS_SECRETS_PATH": "/srv/keys"}, def, ""},
		{"blob", map[string]string{"AzureWebJobsSecretStorageType": "blob"}, def, "value=blob"},
		{"keyvault", map[string]string{"AzureWebJobsSecretStorageType": "keyvault"}, def, "value=keyvault"},
		{"kubernetes", map[string]string{"AzureWebJobsSecretStorageType": "kubernetes"}, def, "value=kubernetes"},
		{"containerapps", map[string]string{"AzureWebJobsSecretStorageType": "ContainerApps"}, def, "value=ContainerApps"},
		{"other", map[string]string{"AzureWebJobsSecretStorageType": "s3"}, def, "value=s3"},
		{"sas", map[string]string{"AzureWebJobsSecretStorageSas": "https://x/y?sig=z"}, def, "AzureWebJobsSecretStorageSas"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf syncBuffer
			s, err := Open(tt.settings, state, slog.New(slog.NewTextHandler(&buf, nil)))
			if err != nil {
				t.Fatal(err)
			}
			if fs, ok := s.(FileStore); !ok || fs.Dir != tt.dir {
				t.Errorf("Open = %#v, want FileStore{%q}", s, tt.dir)
			}
			log := buf.String()
			switch {
			case tt.warn == "" && log != "":
				t.Errorf("unexpected log: %s", log)
			case tt.warn != "" && (!strings.Contains(log, "level=WARN") || !strings.Contains(log, tt.warn) || strings.Contains(log, "sig=z")):
				t.Errorf("log %q, want a warning with %q", log, tt.warn)
			}
		})
	}
	if _, err := Open(nil, "", nil); err == nil {
		t.Error("Open without a state folder succeeded")
	}
}
