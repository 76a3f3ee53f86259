// Package route parses and matches ASP.NET Core route templates the way the
// Azure Functions host does (it hands each HTTP trigger's route to ASP.NET
// Core's Route class with the DefaultInlineConstraintResolver).
//
// A template is a "/"-separated list of segments. A segment is a literal
// ("api"), a parameter ("{id}"), a catch-all ("{*path}" or "{**path}", last
// segment only) or a complex segment mixing literals and parameters
// ("{name}.{ext}", "v{major}-{minor}"). A parameter may carry constraints
// ("{id:int}", "{n:int:min(1)}"), a default ("{page=1}") or be optional
// ("{id?}", "{id:int?}"). Braces inside literals and constraints are written
// doubled: "{{" and "}}".
//
// [Parse] reports template errors in ASP.NET Core's words as an [*Error].
// [Template.Match] matches a request path:
//
//   - Literals match ignoring case (ordinal: each character's simple
//     uppercase mapping), after the path segment is percent-decoded.
//   - Trailing segments that are optional, have a default or are a catch-all
//     may be left out of the path. A trailing "/" in the path is ignored; an
//     empty segment ("//") does not match, except inside a catch-all's value.
//   - Complex segments match right to left: each literal is the last
//     occurrence that leaves at least one character for the parameter to its
//     right. An optional parameter that ends a complex segment takes the "."
//     before it with it: "{name}.{ext?}" matches "a.b" and "a".
//   - Constraints are checked after matching, against the final values,
//     defaults included; an optional parameter without a value passes.
//
// # Constraints
//
// Constraint names are case-insensitive. Numbers are read as .NET reads them
// with the invariant culture: white space around them is allowed, and
// decimal, double and float accept group separators ("1,000.5").
//
//   - int, long: a 32- or 64-bit integer.
//   - decimal: a number within .NET decimal's range; a trailing sign ("5-")
//     is allowed, an exponent is not.
//   - double, float: a number, exponent allowed; too large a number is
//     infinity, not an error; NaN and Infinity are accepted.
//   - min(n), max(n), range(a,b): a 64-bit integer within the bounds.
//   - bool: "true" or "false", in any case.
//   - guid: the formats N, D, B, P and X, hexadecimal digits in any case.
//   - alpha: ASCII letters only, possibly none.
//   - datetime: a date (yyyy-M-d, yyyy/M/d, yyyy.M.d or M/d/yyyy), a time of
//     day (H:mm, H:mm:ss or H:mm:ss.fraction, optionally followed by "Z" or
//     an offset +hh, +hh:mm or +hhmm) or a date and a time separated by "T"
//     or spaces.
//   - length(n), length(a,b), minlength(n), maxlength(n): a length counted
//     in UTF-16 code units, as .NET counts it.
//   - regex(expr): the expression matches somewhere in the value, ignoring
//     case; "^" and "$" anchor it. The text in parentheses is the whole
//     expression, commas included.
//   - required: not empty.
//   - file, nonfile: whether the value's last "/"-separated part contains a
//     "." followed by something other than dots. A catch-all with no value
//     passes nonfile and fails every other constraint.
//
// # Differences from ASP.NET Core
//
//   - Kestrel decodes every escape except "%2F" in Request.Path, so ASP.NET
//     route values keep "%2F" as those three characters. Here a parameter's
//     value and a "{*path}" catch-all's value are decoded completely ("a%2Fb"
//     becomes "a/b"), while a "{**path}" catch-all's value keeps "%2F" and
//     "%2f" as written, so that callers can tell encoded slashes from
//     separators. An encoded slash never splits segments in either.
//   - Invalid escapes ("%zz", a lone "%") are kept as written; escapes that
//     decode to invalid UTF-8 are decoded byte for byte.
//   - The regex constraint uses Go's regexp (RE2) syntax: .NET-only syntax
//     (lookaround, backreferences) is a Parse error, and "\d", "\w" and "$"
//     have Go's meanings (ASCII digits and word characters; the very end).
//   - The datetime constraint accepts the forms listed above, not everything
//     DateTime.TryParse does (month names, AM/PM, RFC 1123).
//   - Route value keys are the parameter names as written and Go maps
//     compare them case-sensitively; ASP.NET's RouteValueDictionary ignores
//     case.
//   - Where ASP.NET Core throws while matching a complex segment (a request
//     like ".x" against "{a}-{b}.{c}"), the template simply does not match.
package route
