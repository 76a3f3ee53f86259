// Package httpapi is funcd's HTTP surface, shaped as the real Functions host's:
// HTTP-triggered functions under the route prefix, the admin API under
// /admin, the homepage at /, with function keys, CORS, throttling and
// request size limits.
//
// Errors become status codes in one place, [statusOf]; HTTP trigger failures
// answer with empty bodies as the real host does, and the details go to the
// log.
package httpapi
