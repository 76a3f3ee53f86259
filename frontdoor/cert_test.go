package frontdoor

import (
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"software.sslmate.com/src/go-pkcs12"
)

// certFiles writes a certificate for 127.0.0.1 valid from notBefore to
// notAfter in every form LoadTLS reads, into a new folder.
type certFiles struct {
	dir                          string
	leaf                         *x509.Certificate
	certPEM, keyPEM, combinedPEM string // file names
	pfx, pfxNoPassword           string
}

const pfxPassword = "s3cret"

func writeCertFiles(t *testing.T, notBefore, notAfter time.Time) certFiles {
	t.Helper()
	cert, err := SelfSigned([]string{"127.0.0.1", "localhost"}, notBefore, notAfter)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	f := certFiles{
		dir: dir, leaf: cert.Leaf,
		certPEM: filepath.Join(dir, "cert.pem"), keyPEM: filepath.Join(dir, "key.pem"), combinedPEM: filepath.Join(dir, "both.pem"),
		pfx: filepath.Join(dir, "cert.pfx"), pfxNoPassword: filepath.Join(dir, "open.pfx"),
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	c := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Leaf.Raw})
	k := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	pfx, err := pkcs12.Modern.Encode(cert.PrivateKey, cert.Leaf, nil, pfxPassword)
	if err != nil {
		t.Fatal(err)
	}
	open, err := pkcs12.Passwordless.Encode(cert.PrivateKey, cert.Leaf, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{f.certPEM: c, f.keyPEM: k, f.combinedPEM: append(append([]byte{}, c...), k...), f.pfx: pfx, f.pfxNoPassword: open} {
		if err := os.WriteFile(name, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func TestLoadTLS(t *testing.T) {
	now := time.Now()
	f := writeCertFiles(t, now.Add(-time.Hour), now.Add(24*time.Hour))
	passwordFile := filepath.Join(f.dir, "password.txt")
	if err := os.WriteFile(passwordFile, []byte(pfxPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		files TLSFiles
	}{
		{"pfx with password", TLSFiles{Cert: f.pfx, Password: pfxPassword}},
		{"pfx with a password file", TLSFiles{Cert: f.pfx, Password: passwordFile}},
		{"pfx without password", TLSFiles{Cert: f.pfxNoPassword}},
		{"PEM certificate and key files", TLSFiles{Cert: f.certPEM, Key: f.keyPEM}},
		{"one PEM file with both", TLSFiles{Cert: f.combinedPEM}},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg, info, err := LoadTLS(c.files, now)
			if err != nil {
				t.Fatal(err)
			}
			if len(cfg.Certificates) != 1 || !info.Leaf.Equal(f.leaf) || info.File != c.files.Cert || info.DevCert || len(info.Warnings) != 0 {
				t.Errorf("config %d certificates, info %+v", len(cfg.Certificates), info)
			}
			if _, ok := cfg.Certificates[0].PrivateKey.(crypto.Signer); !ok {
				t.Error("no usable private key")
			}
		})
	}
}

func TestLoadTLSErrors(t *testing.T) {
	now := time.Now()
	f := writeCertFiles(t, now.Add(-time.Hour), now.Add(24*time.Hour))
	other := writeCertFiles(t, now.Add(-time.Hour), now.Add(24*time.Hour))
	garbage := filepath.Join(f.dir, "garbage.bin")
	encrypted := filepath.Join(f.dir, "encrypted.pem")
	certOnly := f.certPEM
	mismatchedPFX := filepath.Join(f.dir, "mismatch.pfx")
	pfx, err := pkcs12.Modern.Encode(mustKey(t, other.keyPEM), f.leaf, nil, pfxPassword)
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string]string{
		garbage:       "not a certificate",
		encrypted:     "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n",
		mismatchedPFX: string(pfx),
	} {
		if err := os.WriteFile(name, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		name  string
		files TLSFiles
		want  []string // parts of the error
	}{
		{"missing file", TLSFiles{Cert: filepath.Join(f.dir, "nosuch.pfx")}, []string{"--cert", "nosuch.pfx", "no such file"}},
		{"wrong password", TLSFiles{Cert: f.pfx, Password: "wrong"}, []string{f.pfx, "wrong password", "--password"}},
		{"no password", TLSFiles{Cert: f.pfx}, []string{f.pfx, "needs a password", "--password"}},
		{"PEM key does not match", TLSFiles{Cert: f.certPEM, Key: other.keyPEM}, []string{f.certPEM, other.keyPEM, "does not match"}},
		{"pfx key does not match", TLSFiles{Cert: mismatchedPFX, Password: pfxPassword}, []string{mismatchedPFX, "does not match"}},
		{"PEM without key", TLSFiles{Cert: certOnly}, []string{certOnly, "no private key", "--key"}},
		{"not a certificate", TLSFiles{Cert: garbage}, []string{garbage, "not a PEM file", ".pfx"}},
		{"encrypted PEM key", TLSFiles{Cert: encrypted}, []string{encrypted, "encrypted", "openssl"}},
		{"key with pfx", TLSFiles{Cert: f.pfx, Key: f.keyPEM, Password: pfxPassword}, []string{f.pfx, "--key is for PEM"}},
		{"password with PEM", TLSFiles{Cert: f.combinedPEM, Password: "x"}, []string{f.combinedPEM, "--password is for .pfx"}},
		{"key without cert", TLSFiles{Key: f.keyPEM}, []string{"--key needs --cert"}},
		{"password without cert", TLSFiles{Password: "x"}, []string{"--password needs --cert"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := LoadTLS(c.files, now)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func mustKey(t *testing.T, keyFile string) any {
	t.Helper()
	b, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(b)
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// An expired certificate, or one not yet valid, is served with a warning.
func TestLoadTLSWarnsAboutValidity(t *testing.T) {
	now := time.Now()
	expired := writeCertFiles(t, now.AddDate(-1, 0, 0), now.AddDate(0, 0, -1))
	future := writeCertFiles(t, now.AddDate(0, 0, 1), now.AddDate(1, 0, 0))
	for _, c := range []struct {
		f    certFiles
		want string
	}{{expired, "expired on"}, {future, "not valid before"}} {
		_, info, err := LoadTLS(TLSFiles{Cert: c.f.combinedPEM}, now)
		if err != nil {
			t.Fatal(err)
		}
		if len(info.Warnings) != 1 || !strings.Contains(info.Warnings[0], c.want) || !strings.Contains(info.Warnings[0], c.f.combinedPEM) {
			t.Errorf("warnings %q, want one saying %q about %s", info.Warnings, c.want, c.f.combinedPEM)
		}
	}
}

// The development certificate is made once, kept with a private key only
// its owner reads, reused, and made again when it nears its end.
func TestDevCertificate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "funcd", "devcert")
	now := time.Now()
	_, first, err := LoadTLS(TLSFiles{DevCertDir: dir}, now)
	if err != nil {
		t.Fatal(err)
	}
	if !first.DevCert || !first.Created || first.File != filepath.Join(dir, DevCertFile) {
		t.Errorf("first load: %+v", first)
	}
	for _, h := range []string{"localhost", "127.0.0.1", "::1"} {
		if err := first.Leaf.VerifyHostname(h); err != nil {
			t.Errorf("not valid for %s: %v", h, err)
		}
	}
	if st, err := os.Stat(filepath.Join(dir, DevKeyFile)); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("key file: %v, %v; want mode 0600", st.Mode(), err)
	}
	if st, err := os.Stat(dir); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("folder: %v, %v; want mode 0700", st.Mode(), err)
	}
	if _, err := tls.LoadX509KeyPair(filepath.Join(dir, DevCertFile), filepath.Join(dir, DevKeyFile)); err != nil {
		t.Errorf("the files do not load as a key pair: %v", err)
	}

	_, again, err := LoadTLS(TLSFiles{DevCertDir: dir}, now.AddDate(0, 6, 0))
	if err != nil {
		t.Fatal(err)
	}
	if again.Created || !again.Leaf.Equal(first.Leaf) {
		t.Errorf("second load made a new certificate (created %t)", again.Created)
	}

	_, renewed, err := LoadTLS(TLSFiles{DevCertDir: dir}, first.Leaf.NotAfter.AddDate(0, 0, -10))
	if err != nil {
		t.Fatal(err)
	}
	if !renewed.Created || renewed.Leaf.Equal(first.Leaf) {
		t.Error("a certificate 10 days from its end was not renewed")
	}
}
