package httpworker

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

// A payload sent in pieces is byte for byte the payload built whole, and
// its announced length is its length.
func TestStreamedPayloadIsThePayload(t *testing.T) {
	defer func(old int) { pieceMin = old }(pieceMin)
	env := payloadEnv{now: time.Date(2024, 5, 6, 7, 8, 9, 123456700, time.UTC), guid: "2f5d4e3c-1b2a-4c3d-8e9f-0a1b2c3d4e5f"}
	long := strings.Repeat(`\"`, 40000)
	bodies := []struct{ name, contentType, body string }{
		{"text", "text/plain", "plain text with \"quotes\", \\ backslashes, \t tabs, \x01 controls, é, 😀, \u2028 and \u0085"},
		{"byte order mark", "", "\xef\xbb\xbfafter the mark"},
		{"invalid UTF-8", "", "a\xff\xfeb\xc3(c\xef\xbf\xbd"},
		{"binary", "application/octet-stream", "\x00\x01\x02binary\xff\xfe"},
		{"multipart", "multipart/form-data; boundary=x", strings.Repeat("\x00part", 1001)},
		{"JSON", "application/json", `{"s":"a\"b\\c\/d\b\f\n\r\t\u0001\u00e9\u2028\ud83d\ude00 lone \ud800 x \udc00 y \ud800\u0041","n":-12.50e3,"t":true,"f":false,"z":null,"a":[1,"x"],"o":{"k":"v","k":"w","n":1.0},"s2":"","dup":"first","DUP":"second"}`},
		{"escaped quotes", "application/json", `{"a":"` + long + `","b":"short"}`},
		{"not an object", "application/json", `["a","b"]`},
		{"array last", "application/json", `{"x":"kept?","x":[1]}`},
		{"large and spaced", "application/json", " \n{ \"big\" : \"" + strings.Repeat("é\\n", 30000) + "\" , \"k\" : 7 }\n"},
	}
	fn := httpFunction("fn", "things/{id}")
	for _, b := range bodies {
		t.Run(b.name, func(t *testing.T) {
			inv := httpInvocation(fn, "POST", "/api/things/1", "q=1&code=secret", b.body)
			if b.contentType != "" {
				inv.HTTP.Header["Content-Type"] = []string{b.contentType}
			}
			id := "1"
			inv.HTTP.Params = map[string]*string{"id": &id}
			pieceMin = 1 << 30
			whole, err := appendPayload(nil, inv, env)
			if err != nil {
				t.Fatal(err)
			}
			if !json.Valid(whole) {
				t.Fatalf("the whole payload is not JSON: %.200s", whole)
			}
			for _, min := range []int{1, 7, 1 << 10} {
				pieceMin = min
				buf, pieces, err := buildPayload(nil, inv, env, true)
				if err != nil {
					t.Fatal(err)
				}
				if len(pieces) == 0 && min == 1 {
					t.Fatalf("pieceMin %d: no pieces", min)
				}
				r := newPayloadReader(buf, pieces)
				got, err := io.ReadAll(iotest.OneByteReader(io.LimitReader(r, 1<<30)))
				if min != 7 {
					got, err = io.ReadAll(r.again())
				}
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, whole) {
					i := 0
					for i < len(got) && i < len(whole) && got[i] == whole[i] {
						i++
					}
					t.Fatalf("pieceMin %d: streamed payload differs at byte %d:\n got %.120q\nwant %.120q", min, i, got[max(i-20, 0):], whole[max(i-20, 0):])
				}
				if r.size != int64(len(whole)) {
					t.Errorf("pieceMin %d: announced length %d, payload %d bytes", min, r.size, len(whole))
				}
			}
		})
	}
}

// A small payload has no pieces: it is built and sent as before.
func TestSmallPayloadHasNoPieces(t *testing.T) {
	inv := httpInvocation(httpFunction("fn", ""), "POST", "/api/fn", "", `{"a":"b"}`)
	if _, pieces, _ := buildPayload(nil, inv, payloadEnv{}, true); len(pieces) != 0 {
		t.Errorf("%d pieces for a small body", len(pieces))
	}
}
