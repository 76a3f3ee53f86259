package keys

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"math/bits"
)

// Kind is the kind of a key. It selects the checksum seed of generated
// values, so a value can tell which kind of key it was generated for.
type Kind int

// Key kinds.
const (
	Function Kind = iota + 1 // a host function key or a function's own key
	System                   // a host system key (extension webhooks)
	Master                   // the master key
)

// String returns the kind's name: "function", "system" or "master".
func (k Kind) String() string {
	switch k {
	case Function:
		return "function"
	case System:
		return "system"
	case Master:
		return "master"
	}
	return "unknown"
}

// Checksum seeds per kind: the ASCII bytes of "Functi00", "System00" and
// "Master00" read as a big-endian integer (that is, the bytes reversed and
// read little-endian), as the real host defines them.
var seeds = map[Kind]uint64{
	Function: 0x46756e6374693030,
	System:   0x53797374656d3030,
	Master:   0x4d61737465723030,
}

// Layout of a generated value: 40 bytes, of which bytes 33..35 carry the
// signature (so that it shows as "AzFu" at characters 44..47 of the encoding:
// 33 bytes are exactly 44 base64 characters) and bytes 36..39 a Marvin32
// checksum of bytes 0..35, little-endian. The rest is random.
const (
	signature    = "AzFu"
	valueBytes   = 40
	valueChars   = 56 // base64 of 40 bytes, with "==" padding
	sigOffset    = 33
	sumOffset    = 36
	sigCharIndex = 44
)

// sigBytes is signature base64-decoded: the 3 bytes that encode to it.
var sigBytes, _ = base64.StdEncoding.DecodeString(signature)

// Generate returns a new random key value of the given kind: 40 bytes from
// crypto/rand with the "AzFu" signature and a checksum seeded for kind,
// encoded as URL-safe base64 with padding (56 characters). It panics if kind
// is not Function, System or Master.
func Generate(kind Kind) string {
	seed, ok := seeds[kind]
	if !ok {
		panic("keys: Generate with invalid Kind")
	}
	b := make([]byte, valueBytes)
	rand.Read(b) // never fails (crypto/rand)
	copy(b[sigOffset:sumOffset], sigBytes)
	binary.LittleEndian.PutUint32(b[sumOffset:], marvin32(seed, b[:sumOffset]))
	return base64.URLEncoding.EncodeToString(b)
}

// IsIdentifiable reports whether value is a well-formed identifiable secret
// of the given kind: 56 characters of URL-safe base64 with padding, "AzFu" at
// characters 44..47, and a checksum that matches kind's seed. Keys set
// through the admin API may be any string; this only tells whether a value
// has the format Generate produces.
func IsIdentifiable(kind Kind, value string) bool {
	seed, ok := seeds[kind]
	if !ok || len(value) != valueChars || value[sigCharIndex:sigCharIndex+len(signature)] != signature {
		return false
	}
	b, err := base64.URLEncoding.Strict().DecodeString(value)
	if err != nil || len(b) != valueBytes {
		return false
	}
	return binary.LittleEndian.Uint32(b[sumOffset:]) == marvin32(seed, b[:sumOffset])
}

// marvin32 is the Marvin hash of data folded to 32 bits (low ^ high).
func marvin32(seed uint64, data []byte) uint32 {
	h := marvin(seed, data)
	return uint32(h) ^ uint32(h>>32)
}

// marvin is the 64-bit Marvin hash (Niels Ferguson's Marvin32, as in .NET's
// string hashing): two 32-bit lanes seeded from seed, one block round per
// little-endian 32-bit word, then the remaining 0..3 bytes with a 0x80
// terminator and two final rounds. The result is hi<<32 | lo.
func marvin(seed uint64, data []byte) uint64 {
	lo, hi := uint32(seed), uint32(seed>>32)
	for ; len(data) >= 4; data = data[4:] {
		lo += binary.LittleEndian.Uint32(data)
		lo, hi = marvinBlock(lo, hi)
	}
	last := uint32(0x80)
	for i := len(data) - 1; i >= 0; i-- {
		last = last<<8 | uint32(data[i])
	}
	lo += last
	lo, hi = marvinBlock(lo, hi)
	lo, hi = marvinBlock(lo, hi)
	return uint64(hi)<<32 | uint64(lo)
}

func marvinBlock(lo, hi uint32) (uint32, uint32) {
	hi ^= lo
	lo = bits.RotateLeft32(lo, 20)
	lo += hi
	hi = bits.RotateLeft32(hi, 9)
	hi ^= lo
	lo = bits.RotateLeft32(lo, 27)
	lo += hi
	hi = bits.RotateLeft32(hi, 19)
	return lo, hi
}
