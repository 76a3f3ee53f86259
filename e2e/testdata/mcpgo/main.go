// Command mcpgo is the MCP tools and resources of funcd's end-to-end
// tests, written with funcd's Go SDK: a plain tool, one with structured
// content, one that fails, and an MCP App (a tool whose _meta points at
// its HTML view, and that view as a resource).
package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/funcd/funcd/sdk"
	"github.com/funcd/funcd/sdk/worker"
)

// weatherURI is the MCP App's view.
const weatherURI = "ui://weather/index.html"

// Weather is get_weather's structured content, what the view renders.
type Weather struct {
	Location   string  `json:"location"`
	Celsius    float64 `json:"celsius"`
	Conditions string  `json:"conditions"`
}

func main() {
	app := sdk.FunctionApp()

	app.MCPTool("echo", echo).
		Description("Echoes a message back.").
		Property("message", "string", "The message to echo", sdk.Required())

	app.MCPTool("get_temperature", getTemperature).
		Description("The temperature of a city, as structured content.").
		Property("city", "string", "City name", sdk.Required()).
		Property("unit", "string", "Temperature unit", sdk.Enum("celsius", "fahrenheit"))

	app.MCPTool("fail", func(context.Context, *sdk.MCPToolRequest) (any, error) {
		return nil, errors.New("this tool always fails")
	}).Description("Always fails.")

	app.MCPTool("get_weather", getWeather).
		Description("Current weather of a location, shown in the weather view.").
		Property("location", "string", "City name", sdk.Required()).
		Metadata(map[string]any{"ui": map[string]any{"resourceUri": weatherURI}})

	app.MCPResource("weather_widget", weatherURI, weatherWidget).
		ResourceName("Weather Widget").
		Description("The view of get_weather.").
		MIMEType("text/html;profile=mcp-app").
		Metadata(map[string]any{"ui": map[string]any{"prefersBorder": true}})

	app.MCPPrompt("summarize", func(_ context.Context, req *sdk.MCPPromptRequest) (any, error) {
		return "Summarize " + req.Arguments["topic"] + ".", nil
	}).Description("Asks for a summary of a topic.").
		Argument("topic", "What to summarize", sdk.Required())

	worker.Start(app)
}

func echo(_ context.Context, req *sdk.MCPToolRequest) (any, error) {
	var args struct {
		Message string `json:"message"`
	}
	if err := req.Bind(&args); err != nil {
		return nil, err
	}
	return args.Message, nil
}

// temperatures are the cities the tools know, in °C.
var temperatures = map[string]float64{"seattle": 12.5, "oslo": -3, "rome": 21}

func getTemperature(_ context.Context, req *sdk.MCPToolRequest) (any, error) {
	var args struct {
		City string `json:"city"`
		Unit string `json:"unit"`
	}
	if err := req.Bind(&args); err != nil {
		return nil, err
	}
	c, ok := temperatures[strings.ToLower(args.City)]
	if !ok {
		return nil, fmt.Errorf("unknown city %q", args.City)
	}
	if args.Unit == "fahrenheit" {
		return sdk.Structured(map[string]any{"city": args.City, "temperature": c*9/5 + 32, "unit": "fahrenheit"}), nil
	}
	return sdk.Structured(map[string]any{"city": args.City, "temperature": c, "unit": "celsius"}), nil
}

func getWeather(_ context.Context, req *sdk.MCPToolRequest) (any, error) {
	location := req.ArgString("location")
	c, ok := temperatures[strings.ToLower(location)]
	if !ok {
		return &sdk.CallToolResult{
			Content: []sdk.MCPContent{sdk.TextContent{Text: fmt.Sprintf("No weather for %q.", location)}},
			IsError: true,
		}, nil
	}
	w := Weather{Location: location, Celsius: c, Conditions: "cloudy"}
	return &sdk.CallToolResult{
		Content:           []sdk.MCPContent{sdk.TextContent{Text: fmt.Sprintf("%s: %.1f °C, %s", w.Location, w.Celsius, w.Conditions)}},
		StructuredContent: w,
	}, nil
}

// weatherHTML is the MCP App's view: it shows the tool result the client
// hands it.
const weatherHTML = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Weather</title>
</head>
<body>
<h1 id="location">Weather</h1>
<p id="summary">Waiting for get_weather…</p>
<script>
window.addEventListener("message", (e) => {
  const m = e.data;
  if (m && m.method === "ui/notifications/tool-result" && m.params && m.params.structuredContent) {
    const w = m.params.structuredContent;
    document.getElementById("location").textContent = w.location;
    document.getElementById("summary").textContent = w.celsius + " °C, " + w.conditions;
  }
});
</script>
</body>
</html>
`

func weatherWidget(context.Context, *sdk.MCPResourceRequest) (any, error) {
	return weatherHTML, nil
}
