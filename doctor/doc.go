// Package doctor checks a function app folder offline and explains why a
// function is missing or broken: problems in host.json, function.json and
// local.settings.json, functions left out by the host.json allow list or
// disabled by a setting, a custom handler that is missing, not executable or
// badly configured, and bindings funcd does not run yet.
//
// [Check] reads the app as `funcd start` would, without starting anything,
// and returns a [Report] of findings, each located by file, line and column
// and paired with a fix. `funcd doctor` prints it.
package doctor
