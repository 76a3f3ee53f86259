// Package e2e holds funcd's end-to-end tests: whole hosts started in-process
// with hosttest, a real custom handler process built from testdata/handler,
// and requests sent over HTTP as a client would.
package e2e
