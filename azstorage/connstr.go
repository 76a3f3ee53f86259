package azstorage

import (
	"encoding/base64"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// The development storage account that Azurite (and the storage emulator
// before it) serves: its well-known name, key and ports.
const (
	DevAccountName = "devstoreaccount1"
	DevAccountKey  = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
	DevBlobPort    = 10000
	DevQueuePort   = 10001
)

// Account is a storage account as a connection string names it: where its
// blob and queue services are and how to sign requests to them.
//
// Account's String and GoString never show the key or the shared access
// signature, so an Account may be logged or printed in an error.
type Account struct {
	// Name is the account name; "" for an anonymous connection string that
	// names endpoints only.
	Name string
	// Key is the base64 shared key; "" when the account signs with a shared
	// access signature or not at all.
	Key string
	// SAS is a shared access signature, without its leading "?".
	SAS string
	// BlobEndpoint and QueueEndpoint are the services' base URLs, such as
	// https://acct.blob.core.windows.net or, path-style for Azurite,
	// http://127.0.0.1:10000/devstoreaccount1. "" when the connection string
	// gives the other service's endpoint only.
	BlobEndpoint  string
	QueueEndpoint string
	// Development is true for UseDevelopmentStorage=true.
	Development bool
}

// String describes the account without its secrets.
func (a Account) String() string {
	var b strings.Builder
	if a.Development {
		b.WriteString("development storage ")
	}
	fmt.Fprintf(&b, "account %q (blob %s, queue %s", a.Name, orNone(a.BlobEndpoint), orNone(a.QueueEndpoint))
	switch {
	case a.Key != "":
		b.WriteString(", shared key")
	case a.SAS != "":
		b.WriteString(", shared access signature")
	default:
		b.WriteString(", anonymous")
	}
	b.WriteString(")")
	return b.String()
}

// GoString is String, so that %#v does not print the key either.
func (a Account) GoString() string { return "azstorage.Account{" + a.String() + "}" }

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// DevelopmentAccount is the account UseDevelopmentStorage=true names:
// Azurite's devstoreaccount1 at 127.0.0.1, blob on port 10000 and queue on
// 10001.
func DevelopmentAccount() Account {
	return devAccount("http", "127.0.0.1")
}

func devAccount(scheme, host string) Account {
	endpoint := func(port int) string {
		return scheme + "://" + net.JoinHostPort(host, fmt.Sprint(port)) + "/" + DevAccountName
	}
	return Account{
		Name:          DevAccountName,
		Key:           DevAccountKey,
		BlobEndpoint:  endpoint(DevBlobPort),
		QueueEndpoint: endpoint(DevQueuePort),
		Development:   true,
	}
}

// The settings a storage connection string may hold. Names match without
// regard to case, as the real host matches them.
const (
	setUseDevelopmentStorage      = "usedevelopmentstorage"
	setDevelopmentStorageProxyURI = "developmentstorageproxyuri"
	setDefaultEndpointsProtocol   = "defaultendpointsprotocol"
	setAccountName                = "accountname"
	setAccountKey                 = "accountkey"
	setAccountKeyName             = "accountkeyname"
	setEndpointSuffix             = "endpointsuffix"
	setSharedAccessSignature      = "sharedaccesssignature"
	setBlobEndpoint               = "blobendpoint"
	setQueueEndpoint              = "queueendpoint"
	setTableEndpoint              = "tableendpoint"
	setFileEndpoint               = "fileendpoint"
	setBlobSecondaryEndpoint      = "blobsecondaryendpoint"
	setQueueSecondaryEndpoint     = "queuesecondaryendpoint"
	setTableSecondaryEndpoint     = "tablesecondaryendpoint"
	setFileSecondaryEndpoint      = "filesecondaryendpoint"
)

// settingNames spells each setting as the documentation does, for errors.
var settingNames = map[string]string{
	setUseDevelopmentStorage:      "UseDevelopmentStorage",
	setDevelopmentStorageProxyURI: "DevelopmentStorageProxyUri",
	setDefaultEndpointsProtocol:   "DefaultEndpointsProtocol",
	setAccountName:                "AccountName",
	setAccountKey:                 "AccountKey",
	setAccountKeyName:             "AccountKeyName",
	setEndpointSuffix:             "EndpointSuffix",
	setSharedAccessSignature:      "SharedAccessSignature",
	setBlobEndpoint:               "BlobEndpoint",
	setQueueEndpoint:              "QueueEndpoint",
	setTableEndpoint:              "TableEndpoint",
	setFileEndpoint:               "FileEndpoint",
	setBlobSecondaryEndpoint:      "BlobSecondaryEndpoint",
	setQueueSecondaryEndpoint:     "QueueSecondaryEndpoint",
	setTableSecondaryEndpoint:     "TableSecondaryEndpoint",
	setFileSecondaryEndpoint:      "FileSecondaryEndpoint",
}

// ConnectionStringError is a connection string that cannot be used. Its
// message names the setting at fault and never holds a key or signature.
type ConnectionStringError struct {
	Setting string // the setting at fault, as spelled in the string; "" for the whole string
	Msg     string
}

func (e *ConnectionStringError) Error() string {
	if e.Setting == "" {
		return "storage connection string: " + e.Msg
	}
	return fmt.Sprintf("storage connection string: setting %s: %s", e.Setting, e.Msg)
}

func csErr(setting, format string, args ...any) error {
	return &ConnectionStringError{Setting: setting, Msg: fmt.Sprintf(format, args...)}
}

// ParseConnectionString reads an Azure Storage connection string as the
// real host's storage SDK does: semicolon-separated name=value settings
// (empty ones ignored, names without regard to case, no name twice), in one
// of three shapes:
//
//   - UseDevelopmentStorage=true, alone or with DevelopmentStorageProxyUri:
//     the development account (DevelopmentAccount), at the proxy's scheme
//     and host when one is given.
//   - AccountName with AccountKey (base64) or SharedAccessSignature, and
//     optionally DefaultEndpointsProtocol (http or https; https by
//     default), EndpointSuffix (core.windows.net by default) and explicit
//     endpoints, which win over the ones built from the name and suffix.
//   - Explicit endpoints (at least one of BlobEndpoint, QueueEndpoint,
//     TableEndpoint, FileEndpoint) with a key and name, a signature, or no
//     credentials.
//
// Spaces around names and values are ignored. The error names the setting
// at fault and never quotes a key or signature.
func ParseConnectionString(s string) (Account, error) {
	settings, spelled, err := splitSettings(s)
	if err != nil {
		return Account{}, err
	}
	if len(settings) == 0 {
		return Account{}, csErr("", "it is empty")
	}
	if v, ok := settings[setUseDevelopmentStorage]; ok {
		return parseDevelopment(settings, spelled, v)
	}

	for k := range settings {
		if _, known := settingNames[k]; !known {
			const expected = "expected AccountName, AccountKey, SharedAccessSignature, DefaultEndpointsProtocol, EndpointSuffix, BlobEndpoint, QueueEndpoint or UseDevelopmentStorage"
			if !isSettingName(spelled[k]) {
				// Not a name someone meant: perhaps a key pasted alone,
				// which must not be quoted.
				return Account{}, csErr("", "a part is not of the form name=value with a known name (%s)", expected)
			}
			return Account{}, csErr(spelled[k], "not a storage connection string setting (%s)", expected)
		}
	}
	if _, ok := settings[setDevelopmentStorageProxyURI]; ok {
		return Account{}, csErr(spelled[setDevelopmentStorageProxyURI], "allowed only with UseDevelopmentStorage=true")
	}

	a := Account{Name: settings[setAccountName], Key: settings[setAccountKey], SAS: strings.TrimPrefix(settings[setSharedAccessSignature], "?")}
	_, hasName := settings[setAccountName]
	_, hasKey := settings[setAccountKey]
	_, hasSAS := settings[setSharedAccessSignature]
	if hasName && a.Name == "" {
		return Account{}, csErr(spelled[setAccountName], "is empty")
	}
	if hasKey {
		if a.Key == "" {
			return Account{}, csErr(spelled[setAccountKey], "is empty")
		}
		if _, err := base64.StdEncoding.DecodeString(a.Key); err != nil {
			return Account{}, csErr(spelled[setAccountKey], "is not valid base64 (the key is not shown)")
		}
		if !hasName {
			return Account{}, csErr(spelled[setAccountKey], "needs AccountName too")
		}
	}
	if hasSAS && a.SAS == "" {
		return Account{}, csErr(spelled[setSharedAccessSignature], "is empty")
	}
	if hasKey && hasSAS {
		return Account{}, csErr(spelled[setSharedAccessSignature], "give AccountKey or SharedAccessSignature, not both")
	}
	if _, ok := settings[setAccountKeyName]; ok && !hasKey {
		return Account{}, csErr(spelled[setAccountKeyName], "allowed only with AccountKey")
	}
	for primary, secondary := range map[string]string{
		setBlobEndpoint: setBlobSecondaryEndpoint, setQueueEndpoint: setQueueSecondaryEndpoint,
		setTableEndpoint: setTableSecondaryEndpoint, setFileEndpoint: setFileSecondaryEndpoint,
	} {
		for _, k := range []string{primary, secondary} {
			if v, ok := settings[k]; ok {
				if err := checkEndpoint(v); err != nil {
					return Account{}, csErr(spelled[k], "%v", err)
				}
			}
		}
		if _, ok := settings[secondary]; ok {
			if _, ok := settings[primary]; !ok {
				return Account{}, csErr(spelled[secondary], "needs %s too", settingNames[primary])
			}
		}
	}
	a.BlobEndpoint = settings[setBlobEndpoint]
	a.QueueEndpoint = settings[setQueueEndpoint]
	explicit := false
	for _, k := range []string{setBlobEndpoint, setQueueEndpoint, setTableEndpoint, setFileEndpoint} {
		if _, ok := settings[k]; ok {
			explicit = true
		}
	}

	protocol, hasProtocol := settings[setDefaultEndpointsProtocol]
	suffix, hasSuffix := settings[setEndpointSuffix]
	automatic := hasName && (hasKey || hasSAS)
	if !automatic {
		switch {
		case !explicit && hasName:
			return Account{}, csErr(spelled[setAccountName], "needs AccountKey or SharedAccessSignature, or explicit endpoints (BlobEndpoint, QueueEndpoint)")
		case !explicit:
			return Account{}, csErr("", "no valid combination of settings: give UseDevelopmentStorage=true, AccountName with AccountKey, or BlobEndpoint/QueueEndpoint")
		case hasProtocol:
			return Account{}, csErr(spelled[setDefaultEndpointsProtocol], "allowed only with AccountName and AccountKey or SharedAccessSignature")
		case hasSuffix:
			return Account{}, csErr(spelled[setEndpointSuffix], "allowed only with AccountName and AccountKey or SharedAccessSignature")
		case hasName && !hasKey:
			return Account{}, csErr(spelled[setAccountName], "needs AccountKey (or leave it out and sign with SharedAccessSignature)")
		}
		return a, nil
	}

	if !hasProtocol {
		protocol = "https"
	}
	protocol = strings.ToLower(protocol)
	if protocol != "http" && protocol != "https" {
		return Account{}, csErr(spelled[setDefaultEndpointsProtocol], "is %q, want http or https", protocol)
	}
	if !hasSuffix {
		suffix = "core.windows.net"
	}
	if !isDNSName(suffix) {
		return Account{}, csErr(spelled[setEndpointSuffix], "is %q, want a DNS name such as core.windows.net", suffix)
	}
	if !isDNSLabel(a.Name) {
		return Account{}, csErr(spelled[setAccountName], "is %q, which cannot be a host name (want lowercase letters and digits)", a.Name)
	}
	if a.BlobEndpoint == "" {
		a.BlobEndpoint = protocol + "://" + a.Name + ".blob." + suffix
	}
	if a.QueueEndpoint == "" {
		a.QueueEndpoint = protocol + "://" + a.Name + ".queue." + suffix
	}
	return a, nil
}

// splitSettings splits a connection string into its settings, keyed by
// lowercase name, with each name as spelled.
func splitSettings(s string) (settings, spelled map[string]string, err error) {
	settings = map[string]string{}
	spelled = map[string]string{}
	for i, part := range strings.Split(s, ";") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		name, value, ok := strings.Cut(part, "=")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if !ok || name == "" {
			// Quote at most the name: the part may be a key pasted alone.
			return nil, nil, csErr("", "part %d is not of the form name=value", i+1)
		}
		key := strings.ToLower(name)
		if _, dup := settings[key]; dup {
			return nil, nil, csErr(name, "given twice")
		}
		settings[key] = value
		spelled[key] = name
	}
	return settings, spelled, nil
}

func parseDevelopment(settings, spelled map[string]string, v string) (Account, error) {
	if !strings.EqualFold(v, "true") {
		return Account{}, csErr(spelled[setUseDevelopmentStorage], "is %q, and the only value allowed is true", v)
	}
	for k := range settings {
		if k != setUseDevelopmentStorage && k != setDevelopmentStorageProxyURI {
			return Account{}, csErr(spelled[k], "not allowed with UseDevelopmentStorage=true (only DevelopmentStorageProxyUri is)")
		}
	}
	proxy, ok := settings[setDevelopmentStorageProxyURI]
	if !ok {
		return DevelopmentAccount(), nil
	}
	if err := checkEndpoint(proxy); err != nil {
		return Account{}, csErr(spelled[setDevelopmentStorageProxyURI], "%v", err)
	}
	u, _ := url.Parse(proxy)
	return devAccount(u.Scheme, u.Hostname()), nil
}

// checkEndpoint accepts an absolute http or https URL.
func checkEndpoint(v string) error {
	// A query may hold a signature: quote the value without it.
	shown, _, _ := strings.Cut(v, "?")
	u, err := url.Parse(v)
	if err != nil || u.Host == "" || u.Hostname() == "" {
		return fmt.Errorf("is %q, want an absolute URL such as https://myaccount.blob.core.windows.net", shown)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("is %q, want an http or https URL", shown)
	}
	if u.User != nil {
		return fmt.Errorf("has user information; give credentials as AccountKey or SharedAccessSignature")
	}
	return nil
}

// isSettingName reports whether s looks like a setting's name: a few
// letters.
func isSettingName(s string) bool {
	if s == "" || len(s) > 40 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i] | 0x20; c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

func isDNSName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if !isDNSLabel(label) {
			return false
		}
	}
	return true
}

func isDNSLabel(s string) bool {
	if s == "" || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}
