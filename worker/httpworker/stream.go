package httpworker

import (
	"encoding/base64"
	"io"
	"unicode/utf16"
	"unicode/utf8"
)

// A large invocation payload is sent as it is encoded, so that it is never
// held whole: buildPayload leaves the large values taken from the request
// body out of the payload buffer as pieces, and a payloadReader encodes
// each piece from the body, a chunk at a time, when its turn comes. Its
// length is worked out first, by encoding every piece once without keeping
// the output, so that the payload still goes with a Content-Length.

// pieceMin is the size from which a value of the body becomes a piece.
var pieceMin = 64 << 10

// pieceKind is how a piece's source is encoded.
type pieceKind uint8

const (
	// pieceText is body text (valid UTF-8) as a JSON string.
	pieceText pieceKind = iota
	// pieceBase64 is binary body as a base64 JSON string.
	pieceBase64
	// pieceDoubleEncoded is a JSON string token of the body, decoded and
	// sent JSON-encoded twice, as HTTP binding data is.
	pieceDoubleEncoded
)

// piece is a value encoded from src at offset at of the payload buffer.
type piece struct {
	at   int
	kind pieceKind
	src  []byte
}

// chunkTarget is how much encoded output a chunk aims at.
const chunkTarget = 32 << 10

// encodeChunk appends the next chunk of p's encoding to dst, starting at
// position *pos of its source, and advances *pos. The opening quote comes
// with the first chunk (*pos == 0) and the closing one with the last. It
// reports whether the piece is done.
func (p *piece) encodeChunk(dst []byte, pos *int) ([]byte, bool) {
	switch p.kind {
	case pieceBase64:
		if *pos == 0 {
			dst = append(dst, '"')
		}
		n := min(len(p.src)-*pos, chunkTarget/4*3)
		dst = base64.StdEncoding.AppendEncode(dst, p.src[*pos:*pos+n])
		*pos += n
	case pieceText:
		if *pos == 0 {
			dst = append(dst, '"')
		}
		dst, *pos = appendStringChunk(dst, p.src, *pos)
	case pieceDoubleEncoded:
		if *pos == 0 {
			dst = append(dst, `"\"`...)
			*pos = 1 // past the token's opening quote
		}
		dst, *pos = appendDoubleEncodedChunk(dst, p.src, *pos)
	}
	if *pos < len(p.src) {
		return dst, false
	}
	if p.kind == pieceDoubleEncoded {
		return append(dst, `\""`...), true
	}
	return append(dst, '"'), true
}

// encodedSize returns the length of p's whole encoding, using scratch.
func (p *piece) encodedSize(scratch []byte) (int64, []byte) {
	var n int64
	pos := 0
	for {
		var done bool
		scratch, done = p.encodeChunk(scratch[:0], &pos)
		n += int64(len(scratch))
		if done {
			return n, scratch
		}
	}
}

// appendStringChunk appends text (valid UTF-8) from position i as
// appendString escapes it, without the quotes, until about chunkTarget
// bytes are out.
func appendStringChunk(dst, text []byte, i int) ([]byte, int) {
	start := i
	for i < len(text) && len(dst)+(i-start) < chunkTarget {
		c := text[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			dst = append(dst, text[start:i]...)
			dst = appendEscape(dst, rune(c))
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRune(text[i:])
		if r == '\u0085' || r == '\u2028' || r == '\u2029' {
			dst = append(dst, text[start:i]...)
			dst = appendEscape(dst, r)
			start = i + size
		}
		i += size
	}
	return append(dst, text[start:i]...), i
}

// appendDoubleEncodedChunk decodes the JSON string token tok (json.Valid
// accepted it, and it is valid UTF-8) from position i, as encoding/json
// decodes it, and appends each character encoded twice, as
// appendDoubleEncoded does, until about chunkTarget bytes are out. It stops
// at the token's closing quote, returning len(tok).
func appendDoubleEncodedChunk(dst, tok []byte, i int) ([]byte, int) {
	end := len(tok) - 1 // the closing quote
	for i < end && len(dst) < chunkTarget {
		c := tok[i]
		var r rune
		switch {
		case c == '\\':
			r, i = decodeEscape(tok, i, end)
		case c < utf8.RuneSelf:
			r = rune(c)
			i++
		default:
			var size int
			r, size = utf8.DecodeRune(tok[i:end])
			i += size
		}
		dst = appendDoubleEncodedRune(dst, r)
	}
	if i >= end {
		i = len(tok)
	}
	return dst, i
}

// decodeEscape decodes the escape at tok[i] ('\\'), a surrogate pair as one
// character and a lone surrogate as U+FFFD, as encoding/json does.
func decodeEscape(tok []byte, i, end int) (rune, int) {
	switch c := tok[i+1]; c {
	case 'b':
		return '\b', i + 2
	case 'f':
		return '\f', i + 2
	case 'n':
		return '\n', i + 2
	case 'r':
		return '\r', i + 2
	case 't':
		return '\t', i + 2
	case 'u':
	default: // '"', '\\', '/'
		return rune(c), i + 2
	}
	r := hex4(tok[i+2 : i+6])
	i += 6
	if !utf16.IsSurrogate(r) {
		return r, i
	}
	if i+6 <= end && tok[i] == '\\' && tok[i+1] == 'u' {
		if dec := utf16.DecodeRune(r, hex4(tok[i+2:i+6])); dec != utf8.RuneError {
			return dec, i + 6
		}
	}
	return utf8.RuneError, i
}

func hex4(b []byte) rune {
	var r rune
	for _, c := range b {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r<<4 | rune(c)
	}
	return r
}

// appendDoubleEncodedRune appends r as appendString escapes it, escaped
// again for the outer string: its quotes and backslashes.
func appendDoubleEncodedRune(dst []byte, r rune) []byte {
	if r >= 0x20 && r != '"' && r != '\\' && r != '\u0085' && r != '\u2028' && r != '\u2029' {
		return utf8.AppendRune(dst, r)
	}
	var inner [8]byte
	for _, c := range appendEscape(inner[:0], r) {
		if c == '"' || c == '\\' {
			dst = append(dst, '\\')
		}
		dst = append(dst, c)
	}
	return dst
}

// payloadReader reads a payload built with pieces, encoding each piece as
// its turn comes.
type payloadReader struct {
	buf    []byte
	pieces []piece
	size   int64

	off     int    // next byte of buf to read
	cur     int    // the piece in progress, or the next one
	pos     int    // position in the current piece's source
	out     []byte // encoded bytes of the current piece not read yet
	scratch []byte
}

// newPayloadReader returns a reader of buf with pieces, and works out its
// length.
func newPayloadReader(buf []byte, pieces []piece) *payloadReader {
	r := &payloadReader{buf: buf, pieces: pieces, size: int64(len(buf)), scratch: make([]byte, 0, chunkTarget+64)}
	for i := range pieces {
		var n int64
		n, r.scratch = pieces[i].encodedSize(r.scratch)
		r.size += n
	}
	return r
}

// again returns a new reader of the same payload, from the start.
func (r *payloadReader) again() *payloadReader {
	return &payloadReader{buf: r.buf, pieces: r.pieces, size: r.size, scratch: r.scratch[:0:0]}
}

func (r *payloadReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if len(r.out) > 0 {
			k := copy(p[n:], r.out)
			r.out = r.out[k:]
			n += k
			continue
		}
		end := len(r.buf)
		if r.cur < len(r.pieces) {
			end = r.pieces[r.cur].at
		}
		if r.off < end {
			k := copy(p[n:], r.buf[r.off:end])
			r.off += k
			n += k
			continue
		}
		if r.cur == len(r.pieces) {
			if n == 0 {
				return 0, io.EOF
			}
			break
		}
		if cap(r.scratch) == 0 {
			r.scratch = make([]byte, 0, chunkTarget+64)
		}
		var done bool
		r.out, done = r.pieces[r.cur].encodeChunk(r.scratch[:0], &r.pos)
		if done {
			r.cur++
			r.pos = 0
		}
	}
	return n, nil
}
