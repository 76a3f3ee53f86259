package durable_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/funcd/funcd/sdk/durable"
)

// counter is an entity: add, get, reset, fail (after changing its state),
// delete.
func counter(ctx *durable.EntityContext) error {
	var n int
	if err := ctx.GetState(&n); err != nil {
		return err
	}
	switch ctx.Operation() {
	case "add":
		var d int
		if err := ctx.GetInput(&d); err != nil {
			return err
		}
		n += d
		if err := ctx.SetState(n); err != nil {
			return err
		}
		if n > 10 {
			return ctx.SignalEntity(durable.NewEntityID("alarm", ctx.EntityID().Key), "ring", durable.WithInput("over 10"))
		}
	case "get":
		return ctx.Return(n)
	case "fail":
		_ = ctx.SetState(-1)
		_ = ctx.SignalEntity(durable.NewEntityID("alarm", "x"), "never")
		return errors.New("fail always fails")
	case "panic":
		panic("entity panic")
	case "delete":
		ctx.DeleteState()
	default:
		return errors.New("no operation " + ctx.Operation())
	}
	return nil
}

type entityResult struct {
	EntityExists bool    `json:"entityExists"`
	EntityState  *string `json:"entityState"`
	Results      []struct {
		IsError   bool    `json:"isError"`
		Duration  *int64  `json:"duration"`
		StartTime int64   `json:"startTime"`
		Result    *string `json:"result"`
	} `json:"results"`
	Signals []struct {
		Target struct {
			Name, Key string
		} `json:"target"`
		Name        string  `json:"name"`
		Input       *string `json:"input"`
		RequestID   *string `json:"requestId"`
		RequestTime int64   `json:"requestTime"`
	} `json:"signals"`
}

func runEntity(t *testing.T, payload string) entityResult {
	t.Helper()
	out, err := durable.RunEntity(context.Background(), []byte(payload), counter)
	if err != nil {
		t.Fatal(err)
	}
	var r entityResult
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("%s: %v", out, err)
	}
	return r
}

func TestEntityBatch(t *testing.T) {
	r := runEntity(t, `{"self":{"name":"counter","key":"k1"},"exists":true,"state":"5",
		"batch":[{"name":"add","input":"3","isSignal":true},
		         {"name":"get","input":null,"isSignal":false},
		         {"name":"fail","input":null,"isSignal":false},
		         {"name":"panic","input":null,"isSignal":true},
		         {"name":"add","input":"4","signal":true},
		         {"name":"get","input":null,"isSignal":false}]}`)
	if !r.EntityExists || r.EntityState == nil || *r.EntityState != "12" {
		t.Fatalf("state after the batch: exists %v, %v", r.EntityExists, r.EntityState)
	}
	if len(r.Results) != 6 {
		t.Fatalf("%d results for 6 operations", len(r.Results))
	}
	want := []struct {
		isError bool
		result  string // "" for none
	}{{false, ""}, {false, "8"}, {true, `"fail always fails"`}, {true, `"panic: entity panic"`}, {false, ""}, {false, "12"}}
	for i, w := range want {
		got := r.Results[i]
		res := ""
		if got.Result != nil {
			res = *got.Result
		}
		if got.IsError != w.isError || res != w.result || got.StartTime == 0 || got.Duration == nil {
			t.Errorf("result %d = %+v (result %q), want isError %v result %q", i, got, res, w.isError, w.result)
		}
	}
	// The failed operation's state change and signal are rolled back; the
	// signal of the last add goes out, with its input as JSON text.
	if len(r.Signals) != 1 {
		t.Fatalf("signals %+v, want one", r.Signals)
	}
	s := r.Signals[0]
	if s.Target.Name != "alarm" || s.Target.Key != "k1" || s.Name != "ring" || s.Input == nil || *s.Input != `"over 10"` ||
		s.RequestID != nil || s.RequestTime == 0 {
		t.Errorf("signal %+v", s)
	}
}

func TestEntityCreateAndDelete(t *testing.T) {
	r := runEntity(t, `{"self":{"name":"counter","key":""},"exists":false,"state":null,
		"batch":[{"name":"add","input":"2","isSignal":true}]}`)
	if !r.EntityExists || r.EntityState == nil || *r.EntityState != "2" {
		t.Errorf("new entity: exists %v, state %v", r.EntityExists, r.EntityState)
	}
	r = runEntity(t, `{"self":{"name":"counter","key":"k"},"exists":true,"state":"2",
		"batch":[{"name":"delete","input":null,"isSignal":true}]}`)
	if r.EntityExists || r.EntityState != nil {
		t.Errorf("deleted entity: exists %v, state %v", r.EntityExists, r.EntityState)
	}
}

func TestEntityBadPayload(t *testing.T) {
	for _, p := range []string{`[`, `{"exists":true,"batch":[]}`, `{"self":{"name":"c","key":"k"},"exists":true}`} {
		if _, err := durable.RunEntity(context.Background(), []byte(p), counter); err == nil || !strings.HasPrefix(err.Error(), "durable: ") {
			t.Errorf("%s: err = %v", p, err)
		}
	}
}
