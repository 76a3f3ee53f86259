package worker

import (
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/funcd/funcd/worker/grpcworker/rpcpb"
)

// unmarshalInvocation decodes an inline invocation's InvocationRequest.
// The message of an HTTP invocation has a known shape (ids, the trigger as
// an empty RpcHttp, inputs and trigger metadata as strings, json or bytes,
// a trace context), and decodeInvocation reads that shape directly, in a
// third of the time protobuf-go takes; anything else it leaves to
// proto.Unmarshal.
func unmarshalInvocation(raw []byte) (*rpcpb.InvocationRequest, error) {
	req := new(rpcpb.InvocationRequest)
	if decodeInvocation(raw, req) {
		return req, nil
	}
	req = new(rpcpb.InvocationRequest)
	if err := proto.Unmarshal(raw, req); err != nil {
		return nil, err
	}
	return req, nil
}

// wireReader reads the fields of one message. Its strings are substrings
// of one copy of the whole message, and its bytes are slices of raw, which
// the request owns.
type wireReader struct {
	raw []byte
	str string // raw as a string
	pos int
	end int
}

// next returns the next field's number and, for a length-delimited field,
// its bounds in raw; ok is false at the end and for a field of another
// wire type or a malformed one.
func (r *wireReader) next() (num protowire.Number, start, end int, ok bool) {
	if r.pos >= r.end {
		return 0, 0, 0, false
	}
	num, typ, n := protowire.ConsumeTag(r.raw[r.pos:r.end])
	if n < 0 || typ != protowire.BytesType {
		return 0, 0, 0, false
	}
	r.pos += n
	size, n := protowire.ConsumeVarint(r.raw[r.pos:r.end])
	if n < 0 || size > uint64(r.end-r.pos-n) {
		return 0, 0, 0, false
	}
	start = r.pos + n
	end = start + int(size)
	r.pos = end
	return num, start, end, true
}

// done says whether the reader consumed its message whole.
func (r *wireReader) done() bool { return r.pos == r.end }

// sub is a reader of the embedded message at [start, end).
func (r *wireReader) sub(start, end int) wireReader {
	return wireReader{raw: r.raw, str: r.str, pos: start, end: end}
}

// text is the string field at [start, end); ok is false when it is not
// UTF-8, which protobuf-go refuses.
func (r *wireReader) text(start, end int) (string, bool) {
	s := r.str[start:end]
	return s, utf8.ValidString(s)
}

// decodeInvocation decodes raw into req when it has the shape of an
// inline invocation's message, and reports false otherwise (req is then
// partly filled).
func decodeInvocation(raw []byte, req *rpcpb.InvocationRequest) bool {
	r := wireReader{raw: raw, str: string(raw), end: len(raw)}
	for r.pos < r.end {
		num, start, end, ok := r.next()
		if !ok {
			return false
		}
		switch num {
		case 1:
			if req.InvocationId, ok = r.text(start, end); !ok {
				return false
			}
		case 2:
			if req.FunctionId, ok = r.text(start, end); !ok {
				return false
			}
		case 3:
			b, ok := decodeBinding(r.sub(start, end))
			if !ok {
				return false
			}
			req.InputData = append(req.InputData, b)
		case 4:
			key, td, ok := decodeMetadataEntry(r.sub(start, end))
			if !ok {
				return false
			}
			if req.TriggerMetadata == nil {
				req.TriggerMetadata = make(map[string]*rpcpb.TypedData, 4)
			}
			req.TriggerMetadata[key] = td
		case 5:
			if req.TraceContext != nil {
				return false // a repeated message field merges: protobuf-go's
			}
			if req.TraceContext, ok = decodeTraceContext(r.sub(start, end)); !ok {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// decodeBinding reads a ParameterBinding whose data is a TypedData.
func decodeBinding(r wireReader) (*rpcpb.ParameterBinding, bool) {
	b := &rpcpb.ParameterBinding{}
	for r.pos < r.end {
		num, start, end, ok := r.next()
		if !ok {
			return nil, false
		}
		switch {
		case num == 1:
			if b.Name, ok = r.text(start, end); !ok {
				return nil, false
			}
		case num == 2 && b.RpcData == nil:
			td, ok := decodeTypedData(r.sub(start, end))
			if !ok {
				return nil, false
			}
			b.RpcData = &rpcpb.ParameterBinding_Data{Data: td}
		default:
			return nil, false
		}
	}
	return b, true
}

// decodeTypedData reads a TypedData that is empty, a string, json, bytes
// or an empty RpcHttp.
func decodeTypedData(r wireReader) (*rpcpb.TypedData, bool) {
	td := &rpcpb.TypedData{}
	if r.pos == r.end {
		return td, true
	}
	num, start, end, ok := r.next()
	if !ok || !r.done() {
		return nil, false
	}
	switch num {
	case 1:
		s, ok := r.text(start, end)
		if !ok {
			return nil, false
		}
		td.Data = &rpcpb.TypedData_String_{String_: s}
	case 2:
		s, ok := r.text(start, end)
		if !ok {
			return nil, false
		}
		td.Data = &rpcpb.TypedData_Json{Json: s}
	case 3:
		td.Data = &rpcpb.TypedData_Bytes{Bytes: r.raw[start:end:end]}
	case 5:
		if start != end {
			return nil, false
		}
		td.Data = &rpcpb.TypedData_Http{Http: &rpcpb.RpcHttp{}}
	default:
		return nil, false
	}
	return td, true
}

// decodeMetadataEntry reads a trigger_metadata entry with both its key and
// its value.
func decodeMetadataEntry(r wireReader) (string, *rpcpb.TypedData, bool) {
	var key string
	var td *rpcpb.TypedData
	haveKey := false
	for r.pos < r.end {
		num, start, end, ok := r.next()
		if !ok {
			return "", nil, false
		}
		switch {
		case num == 1 && !haveKey:
			if key, ok = r.text(start, end); !ok {
				return "", nil, false
			}
			haveKey = true
		case num == 2 && td == nil:
			if td, ok = decodeTypedData(r.sub(start, end)); !ok {
				return "", nil, false
			}
		default:
			return "", nil, false
		}
	}
	return key, td, haveKey && td != nil
}

// decodeTraceContext reads an RpcTraceContext.
func decodeTraceContext(r wireReader) (*rpcpb.RpcTraceContext, bool) {
	tc := &rpcpb.RpcTraceContext{}
	for r.pos < r.end {
		num, start, end, ok := r.next()
		if !ok {
			return nil, false
		}
		switch num {
		case 1:
			if tc.TraceParent, ok = r.text(start, end); !ok {
				return nil, false
			}
		case 2:
			if tc.TraceState, ok = r.text(start, end); !ok {
				return nil, false
			}
		case 3, 4:
			k, v, ok := decodeStringEntry(r.sub(start, end))
			if !ok {
				return nil, false
			}
			m := &tc.Attributes
			if num == 4 {
				m = &tc.Baggage
			}
			if *m == nil {
				*m = make(map[string]string, 1)
			}
			(*m)[k] = v
		default:
			return nil, false
		}
	}
	return tc, true
}

// decodeStringEntry reads a map<string, string> entry with both its key
// and its value.
func decodeStringEntry(r wireReader) (key, value string, ok bool) {
	have := 0
	for r.pos < r.end {
		num, start, end, ok := r.next()
		if !ok || (num != 1 && num != 2) || have&(1<<num) != 0 {
			return "", "", false
		}
		have |= 1 << num
		s, ok := r.text(start, end)
		if !ok {
			return "", "", false
		}
		if num == 1 {
			key = s
		} else {
			value = s
		}
	}
	return key, value, have == 6
}
