package mcpapi

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// The settings that hold the key client state tokens are encrypted with,
// as in the real host (32 bytes, as 64 hex digits or base64).
const (
	SettingAuthEncryptionKey      = "WEBSITE_AUTH_ENCRYPTION_KEY"
	SettingContainerEncryptionKey = "CONTAINER_ENCRYPTION_KEY"
)

// clientState makes and reads the tokens a client carries between requests
// (the streamable transport's Mcp-Session-Id, the SSE transport's azmcpcs):
// "<session id>|<instance id>", sealed with AES-GCM and base64url-encoded
// when encryption is on and a key is set, else as it is (as the real host
// runs locally).
type clientState struct {
	aead cipher.AEAD // nil: plain
}

// newClientState returns the token codec for the app's settings.
func newClientState(encrypt bool, settings map[string]string) (clientState, error) {
	if !encrypt || settings["FUNCTIONS_CORETOOLS_ENVIRONMENT"] != "" {
		return clientState{}, nil
	}
	name := SettingAuthEncryptionKey
	raw := settings[name]
	if raw == "" {
		name = SettingContainerEncryptionKey
		raw = settings[name]
	}
	if raw == "" {
		return clientState{}, nil
	}
	key, err := decodeKey(raw)
	if err != nil {
		return clientState{}, fmt.Errorf("the setting %s %v", name, err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return clientState{}, fmt.Errorf("the setting %s: %v", name, err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return clientState{}, err
	}
	return clientState{aead: aead}, nil
}

func decodeKey(s string) ([]byte, error) {
	if len(s) == 64 {
		if b, err := hex.DecodeString(s); err == nil {
			return b, nil
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == 32 {
			return b, nil
		}
	}
	return nil, errors.New("is not a 32-byte key (64 hex digits or base64)")
}

// seal makes the token of a session on an instance.
func (c clientState) seal(session, instance string) string {
	plain := session + "|" + instance
	if c.aead == nil {
		return plain
	}
	nonce := make([]byte, c.aead.NonceSize(), c.aead.NonceSize()+len(plain)+c.aead.Overhead())
	_, _ = rand.Read(nonce)
	return base64.RawURLEncoding.EncodeToString(c.aead.Seal(nonce, nonce, []byte(plain), nil))
}

// open reads a token back; ok is false for one this host did not make.
func (c clientState) open(token string) (session string, ok bool) {
	plain := token
	if c.aead != nil {
		b, err := base64.RawURLEncoding.DecodeString(token)
		if err != nil || len(b) < c.aead.NonceSize() {
			return "", false
		}
		p, err := c.aead.Open(nil, b[:c.aead.NonceSize()], b[c.aead.NonceSize():], nil)
		if err != nil {
			return "", false
		}
		plain = string(p)
	}
	session, _, found := strings.Cut(plain, "|")
	if !found || !validID(session) {
		return "", false
	}
	return session, true
}

// newID returns a session or client id as the real extension makes them:
// 16 characters of [a-z0-9].
func newID() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	var b [16]byte
	_, _ = rand.Read(b[:])
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b[:])
}

func validID(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c == '-') {
			return false
		}
	}
	return true
}
