package frontdoor

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"software.sslmate.com/src/go-pkcs12"
)

// TLSFiles says where the server's certificate comes from, as the flags of
// `funcd start --useHttps` (Core Tools' `func start --useHttps --cert
// --password`).
type TLSFiles struct {
	// Cert is a .pfx (PKCS#12) file holding the certificate and its key, or
	// a PEM file holding the certificate (and the key, unless Key is set).
	// Empty: the development certificate.
	Cert string
	// Key is the PEM key file of a PEM certificate.
	Key string
	// Password opens the .pfx file: the password itself, or the name of a
	// file holding it (as Core Tools).
	Password string
	// DevCertDir is where the development certificate is kept (empty:
	// DefaultDevCertDir).
	DevCertDir string
}

// TLSInfo describes the certificate LoadTLS loaded.
type TLSInfo struct {
	Leaf *x509.Certificate
	// File is the certificate's file.
	File string
	// DevCert is set for the development certificate; Created when it was
	// made by this call.
	DevCert, Created bool
	// Warnings are problems that do not stop the server, such as an
	// expired certificate.
	Warnings []string
}

// devCertHosts are the names the development certificate is valid for.
var devCertHosts = []string{"localhost", "127.0.0.1", "::1"}

// Names of the development certificate's files in its folder.
const (
	DevCertFile = "localhost.crt"
	DevKeyFile  = "localhost.key"
)

// DefaultDevCertDir is the development certificate's folder: per user, out
// of every app folder (os.UserConfigDir()/funcd/devcert).
func DefaultDevCertDir() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("no folder for the development certificate: %w", err)
	}
	return filepath.Join(dir, "funcd", "devcert"), nil
}

// LoadTLS loads the certificate f names, or the development certificate
// (made on first use, and again when it nears its end), into a server
// configuration. now decides expiry.
func LoadTLS(f TLSFiles, now time.Time) (*tls.Config, *TLSInfo, error) {
	var (
		cert tls.Certificate
		info *TLSInfo
		err  error
	)
	switch {
	case f.Cert == "" && f.Key != "":
		return nil, nil, errors.New("--key needs --cert: the key belongs to a PEM certificate file")
	case f.Cert == "" && f.Password != "":
		return nil, nil, errors.New("--password needs --cert: it opens a .pfx certificate file")
	case f.Cert == "":
		cert, info, err = devCertificate(f.DevCertDir, now)
	default:
		cert, info, err = loadCertificate(f)
	}
	if err != nil {
		return nil, nil, err
	}
	leaf := cert.Leaf
	switch {
	case now.After(leaf.NotAfter):
		info.Warnings = append(info.Warnings, fmt.Sprintf("the certificate in %s expired on %s: clients will refuse it", info.File, leaf.NotAfter.Format(time.DateOnly)))
	case now.Before(leaf.NotBefore):
		info.Warnings = append(info.Warnings, fmt.Sprintf("the certificate in %s is not valid before %s: clients will refuse it until then", info.File, leaf.NotBefore.Format(time.RFC3339)))
	}
	info.Leaf = leaf
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, info, nil
}

// loadCertificate reads a .pfx or PEM certificate with its key.
func loadCertificate(f TLSFiles) (tls.Certificate, *TLSInfo, error) {
	data, err := os.ReadFile(f.Cert)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("cannot read the certificate (--cert): %w", err)
	}
	info := &TLSInfo{File: f.Cert}
	if isPEM(data) {
		if f.Password != "" {
			return tls.Certificate{}, nil, fmt.Errorf("%s is a PEM file: --password is for .pfx files (encrypted PEM keys are not supported; decrypt the key with `openssl pkey -in key.pem -out plain.pem`)", f.Cert)
		}
		cert, err := loadPEM(f.Cert, data, f.Key)
		return cert, info, err
	}
	if f.Key != "" {
		return tls.Certificate{}, nil, fmt.Errorf("%s is not a PEM file: --key is for PEM certificates (a .pfx file holds its own key)", f.Cert)
	}
	password, err := readPassword(f.Password)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	cert, err := loadPFX(f.Cert, data, password)
	return cert, info, err
}

// readPassword returns p, or the contents of the file p names (trimmed), as
// Core Tools reads --password.
func readPassword(p string) (string, error) {
	if p == "" {
		return "", nil
	}
	st, err := os.Stat(p)
	if err != nil || !st.Mode().IsRegular() {
		return p, nil
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return "", fmt.Errorf("cannot read the password file %s (--password): %w", p, err)
	}
	return strings.TrimSpace(string(b)), nil
}

func isPEM(data []byte) bool {
	return bytes.Contains(data, []byte("-----BEGIN "))
}

// loadPFX decodes a PKCS#12 file.
func loadPFX(name string, data []byte, password string) (tls.Certificate, error) {
	key, leaf, chain, err := pkcs12.DecodeChain(data, password)
	if errors.Is(err, pkcs12.ErrIncorrectPassword) {
		if password == "" {
			return tls.Certificate{}, fmt.Errorf("%s: the .pfx file needs a password: give it with --password (the password, or a file holding it)", name)
		}
		return tls.Certificate{}, fmt.Errorf("%s: wrong password for the .pfx file (--password)", name)
	}
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("%s: not a PEM file, and not a .pfx (PKCS#12) file holding one certificate and its private key: %w", name, err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return tls.Certificate{}, fmt.Errorf("%s: unsupported private key type %T", name, key)
	}
	if !publicKeysEqual(signer.Public(), leaf.PublicKey) {
		return tls.Certificate{}, fmt.Errorf("%s: the private key does not match the certificate's public key", name)
	}
	cert := tls.Certificate{Certificate: [][]byte{leaf.Raw}, PrivateKey: signer, Leaf: leaf}
	for _, c := range chain {
		cert.Certificate = append(cert.Certificate, c.Raw)
	}
	return cert, nil
}

// loadPEM reads a certificate chain and a key from PEM: the key from keyFile
// if set, otherwise from the certificate's own file.
func loadPEM(certFile string, certPEM []byte, keyFile string) (tls.Certificate, error) {
	keyPEM, keyName := certPEM, certFile
	if keyFile != "" {
		b, err := os.ReadFile(keyFile)
		if err != nil {
			return tls.Certificate{}, fmt.Errorf("cannot read the key (--key): %w", err)
		}
		keyPEM, keyName = b, keyFile
	}
	if !hasBlock(certPEM, "CERTIFICATE") {
		return tls.Certificate{}, fmt.Errorf("%s: no CERTIFICATE block in the PEM file", certFile)
	}
	switch {
	case hasBlock(keyPEM, "ENCRYPTED PRIVATE KEY") || bytes.Contains(keyPEM, []byte("Proc-Type: 4,ENCRYPTED")):
		return tls.Certificate{}, fmt.Errorf("%s: the private key is encrypted, which funcd does not support: decrypt it with `openssl pkey -in %s -out plain.key`, or use a .pfx file with --password", keyName, keyName)
	case !hasPrivateKey(keyPEM) && keyFile == "":
		return tls.Certificate{}, fmt.Errorf("%s: no private key in the PEM file: give the key file with --key, or put the key in the same file", certFile)
	case !hasPrivateKey(keyPEM):
		return tls.Certificate{}, fmt.Errorf("%s: no PRIVATE KEY block in the key file (--key)", keyFile)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		if strings.Contains(err.Error(), "does not match") {
			return tls.Certificate{}, fmt.Errorf("%s and %s: the private key does not match the certificate's public key", certFile, keyName)
		}
		return tls.Certificate{}, fmt.Errorf("%s: %w", certFile, err)
	}
	return cert, nil
}

func hasBlock(data []byte, typ string) bool {
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return false
		}
		if b.Type == typ {
			return true
		}
	}
}

func hasPrivateKey(data []byte) bool {
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return false
		}
		if b.Type == "PRIVATE KEY" || strings.HasSuffix(b.Type, " PRIVATE KEY") && b.Type != "ENCRYPTED PRIVATE KEY" {
			return true
		}
	}
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	ea, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && ea.Equal(b)
}

// devCertificate loads the development certificate from dir, or makes one
// when there is none, it does not load, it ends within 30 days or it does
// not cover every name in devCertHosts.
func devCertificate(dir string, now time.Time) (tls.Certificate, *TLSInfo, error) {
	if dir == "" {
		d, err := DefaultDevCertDir()
		if err != nil {
			return tls.Certificate{}, nil, err
		}
		dir = d
	}
	certFile, keyFile := filepath.Join(dir, DevCertFile), filepath.Join(dir, DevKeyFile)
	info := &TLSInfo{File: certFile, DevCert: true}
	if cert, err := tls.LoadX509KeyPair(certFile, keyFile); err == nil && devCertUsable(cert.Leaf, now) {
		return cert, info, nil
	}
	cert, err := SelfSigned(devCertHosts, now.Add(-time.Hour), now.AddDate(1, 0, 0))
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("cannot create the development certificate's folder: %w", err)
	}
	if err := writeFileAtomic(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("cannot write the development certificate's key: %w", err)
	}
	if err := writeFileAtomic(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Leaf.Raw}), 0o644); err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("cannot write the development certificate: %w", err)
	}
	info.Created = true
	return cert, info, nil
}

func devCertUsable(leaf *x509.Certificate, now time.Time) bool {
	if leaf == nil || now.Before(leaf.NotBefore) || now.AddDate(0, 0, 30).After(leaf.NotAfter) {
		return false
	}
	for _, h := range devCertHosts {
		if leaf.VerifyHostname(h) != nil {
			return false
		}
	}
	return true
}

// writeFileAtomic writes data to a new file beside name and renames it
// into place, so that a reader never sees half a file.
func writeFileAtomic(name string, data []byte, perm fs.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), name)
}

// SelfSigned makes a self-signed server certificate (ECDSA P-256) for the
// given host names and IP addresses.
func SelfSigned(hosts []string, notBefore, notAfter time.Time) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: hosts[0], Organization: []string{"funcd development certificate"}},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return tls.Certificate{}, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}
