package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"time"

	"github.com/funcd/funcd/frontdoor"
)

// loadTLS checks the HTTPS flags of `funcd start` and loads the
// certificate; nil without --useHttps.
func loadTLS(o startOptions) (*tls.Config, *frontdoor.TLSInfo, error) {
	if !o.useHTTPS {
		for _, f := range []struct{ name, value string }{{"--cert", o.cert}, {"--key", o.key}, {"--password", o.password}} {
			if f.value != "" {
				return nil, nil, fmt.Errorf("%s is for HTTPS: add --useHttps", f.name)
			}
		}
		return nil, nil, nil
	}
	if o.h2c {
		return nil, nil, errors.New("--h2c is for plain HTTP behind a TLS-terminating proxy; with --useHttps, HTTP/2 is negotiated over TLS")
	}
	return frontdoor.LoadTLS(frontdoor.TLSFiles{Cert: o.cert, Key: o.key, Password: o.password}, time.Now())
}

// printTLS says which certificate HTTPS uses, warns about one clients will
// refuse, and for the development certificate says how to trust it.
func printTLS(g *globals, info *frontdoor.TLSInfo, log *slog.Logger) {
	for _, w := range info.Warnings {
		log.Warn(w)
	}
	w := g.stdout
	if !info.DevCert {
		fmt.Fprintf(w, "\nHTTPS certificate: %s (%s, valid until %s).\n", info.File, info.Leaf.Subject.CommonName, info.Leaf.NotAfter.Format(time.DateOnly))
		return
	}
	made := "the"
	if info.Created {
		made = "a new"
	}
	fmt.Fprintf(w, "\nHTTPS uses %s funcd development certificate for localhost, 127.0.0.1 and ::1, valid until %s:\n  %s\n",
		made, info.Leaf.NotAfter.Format(time.DateOnly), info.File)
	fmt.Fprintln(w, "Clients do not trust it until you add it to the trusted certificates:")
	for _, line := range trustHint(runtime.GOOS, info.File) {
		fmt.Fprintln(w, "  "+line)
	}
	fmt.Fprintln(w, "Or use your own certificate with --cert (a .pfx with --password, or PEM with --key).")
}

// trustHint returns the commands that add a certificate file to the
// operating system's trusted roots.
func trustHint(goos, file string) []string {
	switch goos {
	case "darwin":
		return []string{
			"sudo security add-trusted-cert -d -r trustRoot -k /Library/Keychains/System.keychain " + quote(file),
		}
	case "windows":
		return []string{
			"certutil -user -addstore Root " + quote(file),
		}
	default:
		return []string{
			"Debian, Ubuntu: sudo cp " + quote(file) + " /usr/local/share/ca-certificates/funcd-localhost.crt && sudo update-ca-certificates",
			"Fedora, RHEL:   sudo cp " + quote(file) + " /etc/pki/ca-trust/source/anchors/funcd-localhost.crt && sudo update-ca-trust",
			"Chrome, Firefox (NSS): certutil -d sql:$HOME/.pki/nssdb -A -t C,, -n funcd-localhost -i " + quote(file),
		}
	}
}

// quote wraps a path in double quotes when it holds a space.
func quote(path string) string {
	for _, r := range path {
		if r == ' ' {
			return `"` + path + `"`
		}
	}
	return path
}
