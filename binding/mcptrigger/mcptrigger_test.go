package mcptrigger

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/funcd/funcd"
	"github.com/funcd/funcd/binding"
)

func fn(bindings ...map[string]any) *funcd.Function {
	f := &funcd.Function{Name: "f", ConfigFile: "f/function.json"}
	for _, p := range bindings {
		b := funcd.Binding{Properties: p}
		b.Type, _ = p["type"].(string)
		b.Name, _ = p["name"].(string)
		f.Bindings = append(f.Bindings, b)
	}
	return f
}

func TestInputSchema(t *testing.T) {
	got := string(InputSchema([]Property{
		{Name: "city", Type: "string", Description: "The city", Required: true},
		{Name: "days", Type: "integer", Array: true},
		{Name: "unit", Type: "string", Enum: []string{"c", "f"}},
	}))
	want := `{"type":"object","properties":{"city":{"type":"string","description":"The city"},"days":{"type":"array","items":{"type":"integer"},"description":""},"unit":{"type":"string","enum":["c","f"],"description":""}},"required":["city"]}`
	if got != want {
		t.Errorf("schema\n got %s\nwant %s", got, want)
	}
	if got := string(InputSchema(nil)); got != `{"type":"object","properties":{},"required":[]}` {
		t.Errorf("empty schema %s", got)
	}
}

func TestToolOf(t *testing.T) {
	f := fn(map[string]any{
		"type": "mcpToolTrigger", "name": "context", "toolName": "get_weather", "description": "d",
		"toolProperties":  `[{"propertyName":"city","propertyType":"string","isRequired":true}]`,
		"metadata":        `{"ui":{"resourceUri":"ui://w/index.html"}}`,
		"useResultSchema": true, "resultSchema": `{"type":"object"}`,
	}, map[string]any{"type": "mcpToolProperty", "name": "days", "propertyName": "days", "propertyType": "integer", "isRequired": "true"},
		map[string]any{"type": "mcpToolProperty", "name": "c", "propertyName": "city"})
	tool, err := ToolOf(f)
	if err != nil {
		t.Fatal(err)
	}
	if tool.Name != "get_weather" || !tool.UseResultSchema || string(tool.OutputSchema) != `{"type":"object"}` || len(tool.Properties) != 2 {
		t.Fatalf("tool %+v", tool)
	}
	if r := tool.Required(); strings.Join(r, ",") != "city,days" {
		t.Errorf("required %v", r)
	}
	if ui, _ := tool.Meta["ui"].(map[string]any); ui["resourceUri"] != "ui://w/index.html" {
		t.Errorf("meta %v", tool.Meta)
	}
	if res, err := ResourceOf(f); res != nil || err != nil {
		t.Errorf("a tool is no resource: %v %v", res, err)
	}

	worker := fn(map[string]any{"type": "mcpToolTrigger", "name": "c", "toolName": "w", "useWorkerInputSchema": true,
		"inputSchema": `{"type":"object","properties":{"x":{"type":"number"}}}`})
	if tool, err := ToolOf(worker); err != nil || string(tool.InputSchema) != `{"type":"object","properties":{"x":{"type":"number"}}}` {
		t.Errorf("worker schema %v %v", tool, err)
	}
}

func TestValidate(t *testing.T) {
	kinds := map[string]binding.Kind{}
	for _, k := range Kinds() {
		kinds[k.Type] = k
	}
	deep := strings.Repeat(`{"a":`, 33) + "1" + strings.Repeat("}", 33)
	cases := []struct {
		props       map[string]any
		field, want string
	}{
		{map[string]any{"type": ToolTriggerType, "name": "c"}, "toolName", `needs "toolName"`},
		{map[string]any{"type": ToolTriggerType, "name": "c", "toolName": "  "}, "toolName", "it is empty"},
		{map[string]any{"type": ToolTriggerType, "name": "c", "toolName": "t", "toolProperties": `{"a":1}`}, "toolProperties", "not a JSON array"},
		{map[string]any{"type": ToolTriggerType, "name": "c", "toolName": "t", "toolProperties": `[{"propertyType":"string"}]`}, "toolProperties", "no propertyName"},
		{map[string]any{"type": ToolTriggerType, "name": "c", "toolName": "t", "toolProperties": `[{"propertyName":"a"}]`}, "toolProperties", "no propertyType"},
		{map[string]any{"type": ToolTriggerType, "name": "c", "toolName": "t", "metadata": `[1]`}, "metadata", "not a JSON object"},
		{map[string]any{"type": ToolTriggerType, "name": "c", "toolName": "t", "metadata": deep}, "metadata", "deeper than 32"},
		{map[string]any{"type": ToolTriggerType, "name": "c", "toolName": "t", "useResultSchema": "maybe"}, "useResultSchema", "true or false"},
		{map[string]any{"type": ToolTriggerType, "name": "c", "toolName": "t", "useWorkerInputSchema": true, "inputSchema": `{"type":"array"}`}, "inputSchema", `"type": "object"`},
		{map[string]any{"type": ToolPropertyType, "name": "p"}, "propertyName", `needs "propertyName"`},
		{map[string]any{"type": ResourceTriggerType, "name": "c", "resourceName": "r"}, "uri", `needs "uri"`},
		{map[string]any{"type": ResourceTriggerType, "name": "c", "uri": "index.html", "resourceName": "r"}, "uri", "absolute URI"},
		{map[string]any{"type": ResourceTriggerType, "name": "c", "uri": "ui://a/index.html"}, "resourceName", `needs "resourceName"`},
		{map[string]any{"type": ResourceTriggerType, "name": "c", "uri": "file://{a}{b}", "resourceName": "r"}, "uri", "side by side"},
		{map[string]any{"type": ResourceTriggerType, "name": "c", "uri": "file://{a}/{a}", "resourceName": "r"}, "uri", "twice"},
		{map[string]any{"type": ResourceTriggerType, "name": "c", "uri": "file://x", "resourceName": "r", "size": -1.0}, "size", "0 or more"},
	}
	for _, c := range cases {
		f := fn(c.props)
		err := kinds[c.props["type"].(string)].Validate(f, &f.Bindings[0], nil)
		ce, ok := errors.AsType[*funcd.ConfigError](err)
		if !ok || ce.Field != c.field || !strings.Contains(ce.Error(), c.want) {
			t.Errorf("%v: error %v, want field %s and %q", c.props, err, c.field, c.want)
		}
	}
}

func TestResourceMatch(t *testing.T) {
	f := fn(map[string]any{"type": ResourceTriggerType, "name": "c", "uri": "file://docs/{category}/{name}?v={version}&x=1", "resourceName": "r", "size": 12.0})
	r, err := ResourceOf(f)
	if err != nil {
		t.Fatal(err)
	}
	if !r.IsTemplate() || r.Size != 12 {
		t.Fatalf("resource %+v", r)
	}
	params, ok := r.Match("file://docs/guides/intro.md?v=1/2&x=1")
	if !ok || params["category"] != "guides" || params["name"] != "intro.md" || params["version"] != "1/2" {
		t.Errorf("match %v %v", params, ok)
	}
	if _, ok := r.Match("file://docs/a/b/c?v=1&x=1"); ok {
		t.Error("a parameter matched a '/'")
	}
	static, _ := ResourceOf(fn(map[string]any{"type": ResourceTriggerType, "name": "c", "uri": "ui://Weather/index.html", "resourceName": "r"}))
	if _, ok := static.Match("UI://weather/INDEX.html"); !ok || static.IsTemplate() {
		t.Error("a static URI matches case-insensitively")
	}
}

func TestReadProperty(t *testing.T) {
	b := &funcd.Binding{Type: ToolPropertyType, Properties: map[string]any{"propertyName": "city"}}
	v, err := readProperty(context.Background(), nil, nil, b, binding.Data{DataToolArgs: json.RawMessage(`{"city":"Lisbon"}`)})
	if err != nil || v.Kind != funcd.ValueString || string(v.Data) != "Lisbon" {
		t.Errorf("value %+v %v", v, err)
	}
	v, err = readProperty(context.Background(), nil, nil, b, binding.Data{})
	if err != nil || string(v.Data) != "" {
		t.Errorf("missing argument %+v %v", v, err)
	}
}

func TestPromptOf(t *testing.T) {
	f := fn(map[string]any{"type": PromptTriggerType, "name": "c", "promptName": "summarize", "title": "S",
		"promptArguments": `[{"name":"topic","required":true}]`, "icons": `[{"src":"https://example.com/i.png"}]`, "metadata": `{"k":1}`},
		map[string]any{"type": PromptArgumentType, "name": "s", "argumentName": "style", "description": "d"})
	p, err := PromptOf(f)
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "summarize" || len(p.Arguments) != 2 || p.Arguments[1] != (PromptArgument{Name: "style", Description: "d"}) ||
		strings.Join(p.Required(), ",") != "topic" || len(p.Icons) == 0 || p.Meta["k"] != float64(1) {
		t.Errorf("prompt %+v", p)
	}
	kinds := map[string]binding.Kind{}
	for _, k := range Kinds() {
		kinds[k.Type] = k
	}
	for _, c := range []struct {
		props       map[string]any
		field, want string
	}{
		{map[string]any{"type": PromptTriggerType, "name": "c"}, "promptName", `needs "promptName"`},
		{map[string]any{"type": PromptTriggerType, "name": "c", "promptName": "p", "promptArguments": `{}`}, "promptArguments", "not a JSON array"},
		{map[string]any{"type": PromptTriggerType, "name": "c", "promptName": "p", "promptArguments": `[{"required":true}]`}, "promptArguments", "no name"},
		{map[string]any{"type": PromptTriggerType, "name": "c", "promptName": "p", "icons": `{}`}, "icons", "not a JSON array of icons"},
		{map[string]any{"type": PromptArgumentType, "name": "a"}, "argumentName", `needs "argumentName"`},
	} {
		f := fn(c.props)
		err := kinds[c.props["type"].(string)].Validate(f, &f.Bindings[0], nil)
		ce, ok := errors.AsType[*funcd.ConfigError](err)
		if !ok || ce.Field != c.field || !strings.Contains(ce.Error(), c.want) {
			t.Errorf("%v: error %v, want field %s and %q", c.props, err, c.field, c.want)
		}
	}
	b := &funcd.Binding{Type: PromptArgumentType, Properties: map[string]any{"argumentName": "topic", "isRequired": true}}
	if _, err := readPromptArgument(context.Background(), nil, nil, b, binding.Data{}); err == nil || !strings.Contains(err.Error(), "Required prompt argument 'topic' was not provided.") {
		t.Errorf("missing required argument: %v", err)
	}
	if v, err := readPromptArgument(context.Background(), nil, nil, b, binding.Data{DataPromptArgs: json.RawMessage(`{"topic":"x"}`)}); err != nil || string(v.Data) != "x" {
		t.Errorf("argument %+v %v", v, err)
	}
}
