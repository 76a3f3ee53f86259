package mcpapi

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/funcd/funcd"
)

// Settings are host.json's extensions.mcp settings.
type Settings struct {
	ServerName         string
	ServerVersion      string
	Instructions       string
	EncryptClientState bool
	// AbsoluteEndpoint is messageOptions.useAbsoluteUriForEndpoint: the SSE
	// transport's endpoint event carries an absolute URL.
	AbsoluteEndpoint bool
	// Anonymous is system.webhookAuthorizationLevel Anonymous (httpapi
	// applies it).
	Anonymous bool
}

// The defaults of the real extension.
const (
	DefaultServerName    = "Azure Functions MCP server"
	DefaultServerVersion = "1.0.0"
)

// ParseSettings reads host.json's extensions.mcp (nil: the defaults).
// Keys match case-insensitively, as the real host binds them.
func ParseSettings(raw json.RawMessage) (Settings, error) {
	s := Settings{ServerName: DefaultServerName, ServerVersion: DefaultServerVersion, EncryptClientState: true}
	if len(raw) == 0 {
		return s, nil
	}
	var ext struct {
		ServerName         *string `json:"serverName"`
		ServerVersion      *string `json:"serverVersion"`
		Instructions       *string `json:"instructions"`
		EncryptClientState *bool   `json:"encryptClientState"`
		MessageOptions     struct {
			UseAbsoluteURIForEndpoint *bool `json:"useAbsoluteUriForEndpoint"`
		} `json:"messageOptions"`
		System struct {
			WebhookAuthorizationLevel string `json:"webhookAuthorizationLevel"`
		} `json:"system"`
	}
	if err := json.Unmarshal(raw, &ext); err != nil {
		return s, &funcd.ConfigError{File: "host.json", Field: "extensions.mcp",
			Msg:  "is not an object with the MCP extension's settings: " + err.Error(),
			Hint: `Write for example "extensions": {"mcp": {"serverName": "My tools", "instructions": "...", "system": {"webhookAuthorizationLevel": "System"}}}.`}
	}
	if ext.ServerName != nil && *ext.ServerName != "" {
		s.ServerName = *ext.ServerName
	}
	if ext.ServerVersion != nil && *ext.ServerVersion != "" {
		s.ServerVersion = *ext.ServerVersion
	}
	if ext.Instructions != nil {
		s.Instructions = *ext.Instructions
	}
	if ext.EncryptClientState != nil {
		s.EncryptClientState = *ext.EncryptClientState
	}
	if ext.MessageOptions.UseAbsoluteURIForEndpoint != nil {
		s.AbsoluteEndpoint = *ext.MessageOptions.UseAbsoluteURIForEndpoint
	}
	switch strings.ToLower(ext.System.WebhookAuthorizationLevel) {
	case "", "system":
	case "anonymous":
		s.Anonymous = true
	default:
		return s, &funcd.ConfigError{File: "host.json", Field: "extensions.mcp.system.webhookAuthorizationLevel",
			Msg: fmt.Sprintf("is %q; expected System (the default: the mcp_extension system key or the master key) or Anonymous (no key)", ext.System.WebhookAuthorizationLevel)}
	}
	return s, nil
}
