package durable

import "strings"

// ClientBindingOptions are what the durableClient binding's value is made
// of.
type ClientBindingOptions struct {
	// BaseURL is the public management API's root,
	// "http://host/runtime/webhooks/durabletask".
	BaseURL string
	Hub     string
	// Key is the durabletask_extension system key ("" when keys are off).
	Key        string
	Connection string
	// RPCBaseURL is the local endpoint ("http://127.0.0.1:17071/durabletask/"),
	// "" when there is none.
	RPCBaseURL string
}

// ClientBinding is the durableClient binding's value in the real host's
// out-of-process ("shim") shape, which the JavaScript and Python SDKs
// read.
type ClientBinding struct {
	TaskHubName    string            `json:"taskHubName"`
	ConnectionName *string           `json:"connectionName"`
	CreationURLs   map[string]string `json:"creationUrls"`
	ManagementURLs map[string]string `json:"managementUrls"`
	BaseURL        string            `json:"baseUrl"`
	// RequiredQueryStringParameters is "code=<key>".
	RequiredQueryStringParameters string `json:"requiredQueryStringParameters"`
	RPCBaseURL                    string `json:"rpcBaseUrl,omitempty"`
}

// InstanceIDPlaceholder stands for the instance id in ManagementURLs.
const InstanceIDPlaceholder = "INSTANCEID"

// ClientBindingData builds the durableClient binding's value.
func ClientBindingData(o ClientBindingOptions) ClientBinding {
	base := strings.TrimSuffix(o.BaseURL, "/")
	code := ""
	if o.Key != "" {
		code = "code=" + o.Key
	}
	conn := o.Connection
	if conn == "" {
		conn = "Storage"
	}
	common := "taskHub=" + o.Hub + "&connection=" + conn
	if code != "" {
		common += "&" + code
	}
	withCode := func(u string) string {
		if code == "" {
			return u
		}
		if strings.Contains(u, "?") {
			return u + "&" + code
		}
		return u + "?" + code
	}
	inst := base + "/instances/" + InstanceIDPlaceholder
	b := ClientBinding{
		TaskHubName: o.Hub,
		CreationURLs: map[string]string{
			"createNewInstancePostUri":          withCode(base + "/orchestrators/{functionName}[/{instanceId}]"),
			"createAndWaitOnNewInstancePostUri": withCode(base + "/orchestrators/{functionName}[/{instanceId}]?timeout={timeoutInSeconds}&pollingInterval={intervalInSeconds}"),
		},
		ManagementURLs: map[string]string{
			"id":                    InstanceIDPlaceholder,
			"statusQueryGetUri":     inst + "?" + common,
			"sendEventPostUri":      inst + "/raiseEvent/{eventName}?" + common,
			"terminatePostUri":      inst + "/terminate?reason={text}&" + common,
			"rewindPostUri":         inst + "/rewind?reason={text}&" + common,
			"purgeHistoryDeleteUri": inst + "?" + common,
			"restartPostUri":        inst + "/restart?" + common,
			"suspendPostUri":        inst + "/suspend?reason={text}&" + common,
			"resumePostUri":         inst + "/resume?reason={text}&" + common,
		},
		BaseURL:                       base,
		RequiredQueryStringParameters: code,
		RPCBaseURL:                    o.RPCBaseURL,
	}
	if o.Connection != "" {
		c := o.Connection
		b.ConnectionName = &c
	}
	return b
}
