package funcd

import (
	"crypto/rand"
	"encoding/hex"
)

// NewGUID returns a random (version 4) GUID in its lower-case D format,
// as the real host writes invocation ids: 8-4-4-4-12 hex digits.
func NewGUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return FormatGUID(b)
}

// FormatGUID writes b as a GUID in the D format, byte for byte in order
// (no .NET byte swapping).
func FormatGUID(b [16]byte) string {
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:36], b[10:16])
	return string(s[:])
}
