// Command mcp-weather is a sample MCP App served by funcd: a tool,
// get_weather, whose result an MCP Apps host shows in an HTML view, the
// resource ui://weather/view.html. Run it with `funcd start` in this folder
// (funcd builds it) and point an MCP client at
// http://localhost:7071/runtime/webhooks/mcp with the mcp_extension system
// key in x-functions-key (`funcd keys list` prints it), or run
// `funcd start --no-auth` to try it without a key. In a copy outside this
// repository, give the folder a go.mod first (`go mod init weather` and
// `go get github.com/funcd/funcd`), as for any Go SDK app.
//
// The tool names its view in its metadata (_meta.ui.resourceUri), returns
// text for the model and structured content for the view; the view speaks
// the MCP Apps protocol to its host over postMessage (ui/initialize, then
// the tool's input and result as notifications). Forecasts are made up
// from the city's name, so the sample needs no network.
package main

import (
	"context"
	_ "embed"
	"fmt"
	"hash/fnv"
	"strings"

	"github.com/funcd/funcd/sdk"
	"github.com/funcd/funcd/sdk/worker"
)

// viewURI is the view's resource; the ui:// scheme and the MIME type are
// what MCP Apps hosts look for.
const (
	viewURI  = "ui://weather/view.html"
	viewMIME = "text/html;profile=mcp-app"
)

//go:embed view.html
var viewHTML string

// Weather is the tool's structured content: what the view shows.
type Weather struct {
	City       string  `json:"city"`
	Celsius    float64 `json:"celsius"`
	Conditions string  `json:"conditions"`
	Humidity   int     `json:"humidity"`
	WindKmh    int     `json:"windKmh"`
}

func main() {
	app := sdk.FunctionApp()
	app.MCPTool("get_weather", getWeather).
		Description("The current weather of a city, shown in the weather view.").
		Property("city", "string", "The city, such as Lisbon", sdk.Required()).
		Metadata(map[string]any{"ui": map[string]any{"resourceUri": viewURI}})
	app.MCPResource("weather_view", viewURI, weatherView).
		ResourceName("Weather view").
		Description("Shows a get_weather result.").
		MIMEType(viewMIME).
		Metadata(map[string]any{"ui": map[string]any{"prefersBorder": true}})
	worker.Start(app)
}

var conditions = []string{"sunny", "partly cloudy", "cloudy", "light rain", "showers", "windy", "foggy", "snow"}

// forecast makes a steady, made-up forecast from the city's name.
func forecast(city string) Weather {
	h := fnv.New32a()
	_, _ = h.Write([]byte(strings.ToLower(strings.TrimSpace(city))))
	n := h.Sum32()
	return Weather{
		City:       city,
		Celsius:    float64(int(n%400)-50) / 10,
		Conditions: conditions[n/400%uint32(len(conditions))],
		Humidity:   int(30 + n/7%60),
		WindKmh:    int(n / 11 % 40),
	}
}

func getWeather(_ context.Context, req *sdk.MCPToolRequest) (any, error) {
	city := strings.TrimSpace(req.ArgString("city"))
	if city == "" {
		return &sdk.CallToolResult{Content: []sdk.MCPContent{sdk.TextContent{Text: "Give a city."}}, IsError: true}, nil
	}
	w := forecast(city)
	return &sdk.CallToolResult{
		Content:           []sdk.MCPContent{sdk.TextContent{Text: fmt.Sprintf("%s: %.1f °C, %s, humidity %d%%, wind %d km/h.", w.City, w.Celsius, w.Conditions, w.Humidity, w.WindKmh)}},
		StructuredContent: w,
	}, nil
}

func weatherView(context.Context, *sdk.MCPResourceRequest) (any, error) {
	return viewHTML, nil
}
