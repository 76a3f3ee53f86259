package host

import (
	"encoding/json"
	"testing"

	"github.com/funcd/funcd"
)

func TestLocalRPCEnabled(t *testing.T) {
	for section, want := range map[string]bool{
		"":                                  true,
		`{"hubName":"H"}`:                   true,
		`{"localRpcEndpointEnabled":true}`:  true,
		`{"localRpcEndpointEnabled":false}`: false,
		`{"LocalRpcEndpointEnabled":false}`: false,
	} {
		app := &funcd.App{}
		if section != "" {
			app.Host.Extensions = map[string]json.RawMessage{"durabletask": json.RawMessage(section)}
		}
		if got := localRPCEnabled(app); got != want {
			t.Errorf("localRPCEnabled(%s) = %v, want %v", section, got, want)
		}
	}
}
