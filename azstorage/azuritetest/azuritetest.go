// Package azuritetest runs Azurite, the Azure Storage emulator, for tests:
// one in-memory Azurite per test binary, on ports the system picks, with a
// pool of storage accounts so that every test gets an account of its own,
// empty and unseen by the others.
//
// Azurite comes from the npm package pinned in tools/azurite; install it
// once with
//
//	npm ci --prefix tools/azurite
//
// (make test does it when node_modules is missing). A test binary that
// cannot start Azurite fails, naming the command to run: it never skips.
//
// Use it from TestMain:
//
//	var azurite *azuritetest.Server
//
//	func TestMain(m *testing.M) { azuritetest.Main(m, &azurite) }
//
//	func TestSomething(t *testing.T) {
//		acct := azurite.Account(t) // a fresh account: no queues, no containers
//		...
//	}
package azuritetest

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/funcd/funcd/azstorage"
)

// InstallCommand installs Azurite where Start looks for it, run from the
// repository's root.
const InstallCommand = "npm ci --prefix tools/azurite"

// DefaultAccounts is how many accounts a Server holds when Options.Accounts
// is 0.
const DefaultAccounts = 200

// startTimeout bounds how long Azurite may take to listen. It is a
// deadline for a hang, not a measure of speed: node starting on a busy
// machine takes seconds.
const startTimeout = 2 * time.Minute

// Options tune Start.
type Options struct {
	// Accounts is the size of the account pool (DefaultAccounts if 0).
	Accounts int
	// Dir is the repository root holding tools/azurite; "" searches the
	// working directory and its parents.
	Dir string
}

// Server is a running Azurite.
type Server struct {
	// BlobURL and QueueURL are the services' base URLs, such as
	// http://127.0.0.1:41234; an account's endpoint adds /NAME.
	BlobURL, QueueURL string

	cmd      *exec.Cmd
	dir      string
	accounts chan azstorage.Account
	exited   chan struct{} // closed when the process has exited
	exitErr  error         // why, once exited is closed
	out      *tail
	stopOnce sync.Once
}

// Main is TestMain for a package testing against Azurite: it starts the
// server, stores it in *srv, runs the tests, stops it and exits. It exits
// with status 1 and the reason when Azurite cannot start.
func Main(m *testing.M, srv **Server) {
	s, err := Start(Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "FAIL:", err)
		os.Exit(1)
	}
	*srv = s
	code := m.Run()
	if err := s.Stop(); err != nil && code == 0 {
		fmt.Fprintln(os.Stderr, "FAIL: stopping Azurite:", err)
		code = 1
	}
	os.Exit(code)
}

// Start runs Azurite from tools/azurite/node_modules with in-memory
// storage, on ports the system picks, and waits until its blob and queue
// services listen.
func Start(opts Options) (*Server, error) {
	root, err := findRoot(opts.Dir)
	if err != nil {
		return nil, err
	}
	script := filepath.Join(root, "tools", "azurite", "node_modules", "azurite", "dist", "src", "azurite.js")
	if _, err := os.Stat(script); err != nil {
		return nil, fmt.Errorf("azuritetest: Azurite is not installed (%s is missing): run `%s` in %s", script, InstallCommand, root)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, fmt.Errorf("azuritetest: Azurite needs node, which is not on PATH: %w", err)
	}
	n := opts.Accounts
	if n <= 0 {
		n = DefaultAccounts
	}
	accounts, spec, err := newAccounts(n)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "azurite-")
	if err != nil {
		return nil, fmt.Errorf("azuritetest: %w", err)
	}

	cmd := exec.Command(node, script,
		"--blobHost", "127.0.0.1", "--blobPort", "0",
		"--queueHost", "127.0.0.1", "--queuePort", "0",
		"--tableHost", "127.0.0.1", "--tablePort", "0",
		"--inMemoryPersistence",
		"--skipApiVersionCheck", "--loose", "--silent", "--disableTelemetry")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "AZURITE_ACCOUNTS="+spec)
	cmd.SysProcAttr = sysProcAttr()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("azuritetest: %w", err)
	}
	out := &tail{}
	cmd.Stderr = out
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("azuritetest: starting Azurite: %w", err)
	}
	s := &Server{cmd: cmd, dir: dir, out: out, exited: make(chan struct{})}

	ports := make(chan [2]string, 1)
	var readers sync.WaitGroup
	readers.Go(func() { s.readStdout(stdout, ports) })
	go func() {
		readers.Wait() // Wait closes stdout: read it all first
		s.exitErr = cmd.Wait()
		close(s.exited)
	}()

	select {
	case urls := <-ports:
		s.BlobURL, s.QueueURL = urls[0], urls[1]
	case <-s.exited:
		os.RemoveAll(dir)
		return nil, fmt.Errorf("azuritetest: Azurite exited before it listened (%v); its output:\n%s", s.exitErr, out)
	case <-time.After(startTimeout):
		s.Stop()
		return nil, fmt.Errorf("azuritetest: Azurite did not listen within %v; its output:\n%s", startTimeout, out)
	}

	s.accounts = make(chan azstorage.Account, len(accounts))
	for _, a := range accounts {
		a.BlobEndpoint = s.BlobURL + "/" + a.Name
		a.QueueEndpoint = s.QueueURL + "/" + a.Name
		s.accounts <- a
	}
	return s, nil
}

var listening = regexp.MustCompile(`Azurite (Blob|Queue) service is successfully listening at (http://\S+)`)

// readStdout finds the two services' URLs in Azurite's output, then keeps
// the rest for diagnostics.
func (s *Server) readStdout(r io.Reader, ports chan<- [2]string) {
	var blob, queue string
	sent := false
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		fmt.Fprintln(s.out, line)
		if m := listening.FindStringSubmatch(line); m != nil {
			if m[1] == "Blob" {
				blob = m[2]
			} else {
				queue = m[2]
			}
			if blob != "" && queue != "" && !sent {
				ports <- [2]string{strings.TrimSuffix(blob, "/"), strings.TrimSuffix(queue, "/")}
				sent = true
			}
		}
	}
	io.Copy(s.out, r)
}

// Account returns an account of its own for the test: no queues, no
// containers. It fails the test when the pool is used up.
func (s *Server) Account(t testing.TB) azstorage.Account {
	t.Helper()
	select {
	case a := <-s.accounts:
		return a
	default:
		t.Fatalf("azuritetest: all %d accounts are used; start the server with a larger Options.Accounts", cap(s.accounts))
		return azstorage.Account{}
	}
}

// Open opens a Provider on a fresh account (Account).
func (s *Server) Open(t testing.TB) *azstorage.Provider {
	t.Helper()
	p, err := azstorage.Open(s.Account(t), azstorage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Output returns the last of what Azurite printed, for diagnostics.
func (s *Server) Output() string { return s.out.String() }

// Stop ends Azurite (SIGTERM, then SIGKILL after five seconds), waits for
// it and removes its folder.
func (s *Server) Stop() error {
	var err error
	s.stopOnce.Do(func() {
		defer os.RemoveAll(s.dir)
		select {
		case <-s.exited:
			err = fmt.Errorf("azuritetest: Azurite had exited by itself (%v); its output:\n%s", s.exitErr, s.out)
			return
		default:
		}
		s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.exited:
		case <-time.After(5 * time.Second):
			s.cmd.Process.Kill()
			<-s.exited
		}
	})
	return err
}

// newAccounts makes n accounts with random keys, and their AZURITE_ACCOUNTS
// spelling.
func newAccounts(n int) ([]azstorage.Account, string, error) {
	accounts := make([]azstorage.Account, n)
	spec := make([]string, n)
	for i := range accounts {
		key := make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, "", fmt.Errorf("azuritetest: %w", err)
		}
		accounts[i] = azstorage.Account{Name: fmt.Sprintf("acct%04d", i), Key: base64.StdEncoding.EncodeToString(key)}
		spec[i] = accounts[i].Name + ":" + accounts[i].Key
	}
	return accounts, strings.Join(spec, ";"), nil
}

// findRoot finds the folder holding tools/azurite/package.json: dir, or
// the working directory or one of its parents.
func findRoot(dir string) (string, error) {
	if dir != "" {
		return dir, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("azuritetest: %w", err)
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "tools", "azurite", "package.json")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", errors.New("azuritetest: no tools/azurite/package.json in " + wd + " or a parent folder")
		}
	}
}

// tail keeps the last 64 KiB written to it.
type tail struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

const tailSize = 64 << 10

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf.Write(p)
	if extra := t.buf.Len() - tailSize; extra > 0 {
		t.buf.Next(extra)
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.buf.String()
}

// ConnectionString is the connection string of an account, key included,
// as an app's AzureWebJobsStorage setting names it.
func ConnectionString(a azstorage.Account) string {
	parts := []string{"DefaultEndpointsProtocol=http", "AccountName=" + a.Name, "AccountKey=" + a.Key}
	if a.BlobEndpoint != "" {
		parts = append(parts, "BlobEndpoint="+a.BlobEndpoint)
	}
	if a.QueueEndpoint != "" {
		parts = append(parts, "QueueEndpoint="+a.QueueEndpoint)
	}
	return strings.Join(parts, ";")
}

// Shared is one Azurite that a test binary starts when a test first asks
// for it, for a package only some of whose tests need it. The package's
// TestMain stops it:
//
//	var azurite azuritetest.Shared
//
//	func TestMain(m *testing.M) {
//		code := m.Run()
//		if err := azurite.Stop(); err != nil && code == 0 {
//			fmt.Fprintln(os.Stderr, "FAIL:", err)
//			code = 1
//		}
//		os.Exit(code)
//	}
//
//	func TestSomething(t *testing.T) {
//		acct := azurite.Get(t).Account(t)
//		...
//	}
type Shared struct {
	// Options are Start's.
	Options Options

	mu      sync.Mutex
	srv     *Server
	err     error // why it could not start
	stopped bool
}

// Get returns the Azurite, starting it on the first call. It fails the
// test when Azurite cannot start (or was stopped).
func (s *Shared) Get(t testing.TB) *Server {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.stopped:
		t.Fatal("azuritetest: the shared Azurite was stopped")
	case s.srv == nil && s.err == nil:
		s.srv, s.err = Start(s.Options)
	}
	if s.err != nil {
		t.Fatal(s.err)
	}
	return s.srv
}

// Stop stops the Azurite if Get started it.
func (s *Shared) Stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopped = true
	if s.srv == nil {
		return nil
	}
	return s.srv.Stop()
}
