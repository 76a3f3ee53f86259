package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"time"

	"github.com/funcd/funcd/frontdoor"
)

// makeCert writes a self-signed certificate for 127.0.0.1 and localhost and
// its key (PEM) to the temporary folder, for the TLS peer, and makes the
// client configuration that trusts it.
func (b *bench) makeCert() error {
	cert, err := frontdoor.SelfSigned([]string{"localhost", "127.0.0.1"}, time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour))
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		return err
	}
	b.certFile = filepath.Join(b.tmp, "cert.pem")
	b.keyFile = filepath.Join(b.tmp, "key.pem")
	if err := os.WriteFile(b.certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(b.keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return err
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert.Leaf)
	b.clientTLS = &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
	return nil
}
