package durable

import (
	"crypto/sha1"
	"encoding/hex"
)

// guidNamespace is the JavaScript SDK's namespace for NewGUID.
const guidNamespace = "9e952958-5e33-4daf-827f-2fa12937b875"

// deterministicGUID is the JavaScript SDK's deterministic GUID of name.
// That SDK hands its arguments to the uuid package's v5 the other way
// round, so the "namespace" is the first 16 bytes of SHA-1(name) and the
// "name" is the namespace string; reproduced as is, for the same GUIDs.
func deterministicGUID(name string) string {
	ns := sha1.Sum([]byte(name))
	h := sha1.New()
	h.Write(ns[:16])
	h.Write([]byte(guidNamespace))
	var u [16]byte
	copy(u[:], h.Sum(nil))
	u[6] = u[6]&0x0f | 0x50
	u[8] = u[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], u[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], u[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], u[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], u[8:10])
	out[23] = '-'
	hex.Encode(out[24:], u[10:])
	return string(out[:])
}
