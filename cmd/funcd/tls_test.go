package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/funcd/funcd/frontdoor"
)

// runStart runs `funcd start` with args, expecting it to fail before it
// serves, and returns its stderr.
func runStart(t *testing.T, args ...string) string {
	t.Helper()
	var stdout, stderr syncBuffer
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	args = append([]string{"start", "--script-root", t.TempDir(), "--port", fmt.Sprint(freePort(t))}, args...)
	if code := run(ctx, args, &stdout, &stderr); code == 0 {
		t.Fatalf("funcd %s succeeded", strings.Join(args, " "))
	}
	return stderr.String()
}

func TestStartHTTPSFlagErrors(t *testing.T) {
	dir := t.TempDir()
	certOnly := filepath.Join(dir, "cert.pem")
	cert, err := frontdoor.SelfSigned([]string{"localhost"}, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certOnly, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Leaf.Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"--cert", "x.pfx"}, []string{"--cert is for HTTPS: add --useHttps"}},
		{[]string{"--password", "pw"}, []string{"--password is for HTTPS: add --useHttps"}},
		{[]string{"--useHttps", "--h2c"}, []string{"--h2c is for plain HTTP"}},
		{[]string{"--useHttps", "--cert", filepath.Join(dir, "nosuch.pfx")}, []string{"--cert", "nosuch.pfx"}},
		{[]string{"--useHttps", "--cert", certOnly}, []string{certOnly, "no private key", "--key"}},
	} {
		stderr := runStart(t, c.args...)
		for _, w := range c.want {
			if !strings.Contains(stderr, w) {
				t.Errorf("funcd start %s: stderr %q does not mention %q", strings.Join(c.args, " "), stderr, w)
			}
		}
	}
}

// --useHttps without --cert serves the per-user development certificate
// over HTTP/2, says where it is and how to trust it, and lists https URLs.
func TestStartHTTPSDevCertificate(t *testing.T) {
	home := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
	t.Setenv("HOME", home)
	t.Setenv("AppData", filepath.Join(home, "AppData"))
	certDir, err := frontdoor.DefaultDevCertDir()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(certDir, home) {
		t.Fatalf("development certificate folder %s is outside the test's home", certDir)
	}
	app := newApp(t, "greet")
	goBuild(t, filepath.Join(app, "handler"), ".", filepath.Join(app, "bin", "handler"))
	s := startCLI(t, "--script-root", app, "--no-auth", "--useHttps")
	waitOutput(t, s.stdout, "https://localhost")
	certFile := filepath.Join(certDir, frontdoor.DevCertFile)
	wantContains(t, s.stdout.String(),
		"HTTPS uses a new funcd development certificate", certFile,
		trustHint(runtime.GOOS, certFile)[0],
		fmt.Sprintf("\tgreet: [GET,POST] https://localhost:%d/api/greet\n", s.port))
	if _, err := os.Stat(filepath.Join(app, frontdoor.DevCertFile)); err == nil {
		t.Error("the certificate was written into the app folder")
	}

	pemBytes, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pemBytes)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}, ForceAttemptHTTP2: true}, Timeout: time.Minute}
	res, err := client.Get(fmt.Sprintf("https://localhost:%d/api/greet?name=Ada", s.port))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || res.Proto != "HTTP/2.0" || len(body) == 0 {
		t.Errorf("greet over HTTPS = %d %s %q", res.StatusCode, res.Proto, body)
	}
}

// An expired certificate is served, with a warning.
func TestStartHTTPSExpiredCertificateWarns(t *testing.T) {
	cert, err := frontdoor.SelfSigned([]string{"localhost"}, time.Now().AddDate(-1, 0, 0), time.Now().AddDate(0, 0, -2))
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	both := filepath.Join(t.TempDir(), "both.pem")
	data := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Leaf.Raw}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})...)
	if err := os.WriteFile(both, data, 0o600); err != nil {
		t.Fatal(err)
	}
	app := newApp(t, "greet")
	goBuild(t, filepath.Join(app, "handler"), ".", filepath.Join(app, "bin", "handler"))
	s := startCLI(t, "--script-root", app, "--useHttps", "--cert", both)
	waitOutput(t, s.stdout, "https://localhost")
	wantContains(t, s.stdout.String(), "HTTPS certificate: "+both, fmt.Sprintf("https://localhost:%d/api/greet", s.port))
	// The log is written in batches.
	waitOutput(t, s.stderr, "clients will refuse it")
	wantContains(t, s.stderr.String(), "expired on", both)
}

// waitOutput waits for want to appear in out: the listing is printed line
// by line after "Functions:", and the log in batches.
func waitOutput(t *testing.T, out *syncBuffer, want string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(out.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("output lacks %q:\n%s", want, out)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestTrustHint(t *testing.T) {
	for goos, want := range map[string]string{
		"linux":   "update-ca-certificates",
		"darwin":  "security add-trusted-cert",
		"windows": "certutil -user -addstore Root",
	} {
		hint := strings.Join(trustHint(goos, "/a b/localhost.crt"), "\n")
		if !strings.Contains(hint, want) || !strings.Contains(hint, `"/a b/localhost.crt"`) {
			t.Errorf("%s: %q, want %q and the quoted path", goos, hint, want)
		}
	}
}
