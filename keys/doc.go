// Package keys manages function keys the way the Azure Functions host does:
// it generates key values, reads and writes the host's V1 secrets files, and
// decides which authorization level a presented key grants.
//
// There are three kinds of keys. The master key (named "_master" in the
// admin API, "master" in the secrets file) grants the admin level. Host keys
// live in two lists of the host secrets file: "functionKeys" grant the
// function level for every function, "systemKeys" grant the system level
// (extension webhooks). Each function also has its own keys, which grant the
// function level for that function only.
//
// A [Store] persists secrets; [FileStore] is the real host's file layout
// (host.json and <function>.json in one folder) and [Open] picks the store
// from the app settings. A [Manager] caches the secrets, creates them on
// first use, answers [Manager.Authenticate] and implements the key
// operations of the admin API. [Authorized] is the host's rule for whether a
// granted level satisfies a required one.
//
// New key values come from [Generate] and follow Microsoft's "identifiable
// secret" format, which [IsIdentifiable] checks.
package keys
