package langworker

import (
	"context"
	"strings"

	"github.com/funcd/funcd"
	"github.com/funcd/funcd/worker/grpcworker/rpcpb"
)

// invoke runs one invocation of a function the worker indexed under
// functionID: it builds the InvocationRequest and, for an HTTP trigger with
// p != nil, forwards the original request to the worker's HttpUri at the
// same time; then it turns the outcome into a funcd.Result.
func invoke(ctx context.Context, w invoker, p *httpProxy, inv *funcd.Invocation, functionID string, caps Capabilities) (*funcd.Result, error) {
	if inv == nil || inv.Function == nil {
		return nil, funcd.Errorf(funcd.EINVALID, "invocation without a function")
	}
	proxied := p != nil && inv.HTTP != nil
	if proxied && caps.Has(capInlineInvocation) && p.inlineKey != "" {
		if enc, ok := inlineRequest(inv, functionID); ok {
			return p.invokeInline(ctx, w, enc, inv)
		}
	}
	req, err := buildRequest(inv, functionID, caps, proxied)
	if err != nil {
		return nil, err
	}
	if proxied {
		return p.invoke(ctx, w, req, inv)
	}
	resp, err := w.Invoke(ctx, req)
	if err != nil {
		return nil, err
	}
	return result(inv, resp, false)
}

// InvocationError is an invocation the worker answered with a failed or
// cancelled status. Its message is the real host's: the result, the
// exception's message and its stack trace.
type InvocationError struct {
	Function  string
	Message   string
	Stack     string
	Cancelled bool
}

func (e *InvocationError) Error() string {
	status := "Failure"
	if e.Cancelled {
		status = "Cancelled"
	}
	var b strings.Builder
	b.WriteString("Exception while executing function: Functions.")
	b.WriteString(e.Function)
	b.WriteString(" -> Result: ")
	b.WriteString(status)
	b.WriteString("\nException: ")
	b.WriteString(e.Message)
	b.WriteString("\nStack: ")
	b.WriteString(e.Stack)
	return b.String()
}

// statusError is nil for a successful response and the invocation's error
// otherwise (a missing result is the protocol's zero status, Failure).
func statusError(inv *funcd.Invocation, resp *rpcpb.InvocationResponse) error {
	r := resp.GetResult()
	if r.GetStatus() == rpcpb.StatusResult_Success {
		return nil
	}
	e := &InvocationError{Function: inv.Function.Name, Message: r.GetException().GetMessage(),
		Stack: r.GetException().GetStackTrace(), Cancelled: r.GetStatus() == rpcpb.StatusResult_Cancelled}
	if e.Message == "" {
		e.Message = r.GetResult()
	}
	return &funcd.Error{Code: funcd.EINTERNAL, Message: e.Error(), Err: e}
}

// result converts an InvocationResponse. proxied says that the HTTP
// response came over the proxied connection and the message carries none.
func result(inv *funcd.Invocation, resp *rpcpb.InvocationResponse, proxied bool) (*funcd.Result, error) {
	fn := inv.Function
	if resp.GetInvocationId() != inv.ID {
		return nil, funcd.Errorf(funcd.EINTERNAL, "function '%s': the language worker answered invocation %s with the InvocationResponse of invocation %q",
			fn.Name, inv.ID, resp.GetInvocationId())
	}
	if err := statusError(inv, resp); err != nil {
		return nil, err
	}
	res := &funcd.Result{}
	httpOut := ""
	if inv.HTTP != nil && !proxied {
		httpOut = httpOutputName(fn)
	}
	for _, pb := range resp.GetOutputData() {
		name := pb.GetName()
		if name == "" {
			return nil, replyError(fn.Name, "", "an output_data entry has no name")
		}
		d := pb.GetData()
		if h, ok := d.GetData().(*rpcpb.TypedData_Http); ok && name == httpOut {
			r, err := httpResponse(fn.Name, name, h.Http)
			if err != nil {
				return nil, err
			}
			res.HTTP = r
			continue
		}
		v, err := outputValue(fn.Name, name, d)
		if err != nil {
			return nil, err
		}
		if res.Outputs == nil {
			res.Outputs = make(map[string]funcd.Value, len(resp.GetOutputData())+1)
		}
		res.Outputs[name] = v
	}
	if rv := resp.GetReturnValue(); rv != nil && rv.GetData() != nil {
		if h, ok := rv.GetData().(*rpcpb.TypedData_Http); ok {
			if inv.HTTP == nil {
				return nil, replyError(fn.Name, "$return", "an http return value for a function that is not HTTP-triggered")
			}
			if !proxied && res.HTTP == nil {
				r, err := httpResponse(fn.Name, "$return", h.Http)
				if err != nil {
					return nil, err
				}
				res.HTTP = r
			}
			return res, nil
		}
		v, err := outputValue(fn.Name, "$return", rv)
		if err != nil {
			return nil, err
		}
		res.ReturnValue = v
		if b := fn.Binding("$return"); b != nil && !strings.EqualFold(b.Type, "http") {
			if res.Outputs == nil {
				res.Outputs = make(map[string]funcd.Value, 1)
			}
			res.Outputs["$return"] = v
		}
	}
	return res, nil
}

// httpOutputName is the name of the function's http output binding,
// "$return" when it declares none.
func httpOutputName(fn *funcd.Function) string {
	for i := range fn.Bindings {
		b := &fn.Bindings[i]
		if b.Direction != funcd.In && strings.EqualFold(b.Type, "http") {
			return b.Name
		}
	}
	return "$return"
}
