package workerconfig

import (
	"bytes"
	"errors"
	"testing"

	"github.com/funcd/funcd"
)

func FuzzParse(f *testing.F) {
	for _, s := range []string{nodeConfig, pythonConfig, javaConfig, golangConfig, "", "{", "null", "[]",
		`{"description":{"language":"x","defaultExecutablePath":"x"},"processOptions":{"processCount":3,"maxProcessCount":2}}`,
		`{"description":{"language":"x","defaultExecutablePath":"x"},"profiles":[{"profileName":"p","conditions":[{"conditionType":"environment","conditionName":"A","conditionExpression":"("}],"description":{"isDisabled":"true"}}]}`,
		`{"description":{"language":"x","defaultExecutablePath":"x"},"processOptions":{"initializationTimeout":"-1.23:59:59.9999999"}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse("worker.config.json", "/w", data)
		if err != nil {
			var ce *funcd.ConfigError
			if !errors.As(err, &ce) || ce.File != "worker.config.json" || ce.Msg == "" {
				t.Fatalf("error %#v is not a located *funcd.ConfigError", err)
			}
			if ce.Line < 0 || ce.Line > bytes.Count(data, []byte("\n"))+1 || (ce.Line > 0) != (ce.Column > 0) {
				t.Fatalf("error %v at %d:%d, outside the file", err, ce.Line, ce.Column)
			}
			return
		}
		d := cfg.Description
		if d.Language == "" || d.DefaultExecutablePath == "" || d.Extensions == nil {
			t.Fatalf("accepted an invalid description %+v", d)
		}
		po := cfg.ProcessOptions
		if po.ProcessCount <= 0 || po.ProcessCount > po.MaxProcessCount || po.ProcessStartupInterval < 0 {
			t.Fatalf("accepted invalid process options %+v", po)
		}
		for _, p := range cfg.Profiles {
			if p.Name == "" || len(p.Conditions) == 0 {
				t.Fatalf("accepted an invalid profile %+v", p)
			}
		}
	})
}

func FuzzSplitCommandLine(f *testing.F) {
	for _, s := range []string{`a "b c" d\"e`, `\\\\"`, `"" ""`, "\t"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, a := range splitCommandLine(s) {
			if len(a) > len(s) {
				t.Fatalf("argument %q longer than the line %q", a, s)
			}
		}
	})
}
