package route

import "fmt"

// Error is a problem with a route template. Message is ASP.NET Core's
// wording for the problem, so it can be shown where the real host would show
// it (a function's errors). Err, when set, is the underlying cause, such as
// the Go regexp error behind a regex constraint that does not compile.
type Error struct {
	// Template is the template as passed to Parse.
	Template string
	// Message is the problem in ASP.NET Core's words.
	Message string
	// Err is the cause, or nil.
	Err error
}

// Error returns the message, followed by the cause in parentheses when
// there is one.
func (e *Error) Error() string {
	if e.Err == nil {
		return e.Message
	}
	return e.Message + " (" + e.Err.Error() + ")"
}

// Unwrap returns the cause, or nil.
func (e *Error) Unwrap() error { return e.Err }

// ASP.NET Core's messages (Microsoft.AspNetCore.Routing resources).
const (
	msgConsecutiveSeparators     = "The route template separator character '/' cannot appear consecutively. It must be separated by either a parameter or a literal value."
	msgMismatchedParameter       = "There is an incomplete parameter in the route template. Check that each '{' character has a matching '}' character."
	msgUnescapedBrace            = "In a route parameter, '{' and '}' must be escaped with '{{' and '}}'."
	msgCatchAllCannotBeOptional  = "A catch-all parameter cannot be marked optional."
	msgOptionalCannotHaveDefault = "An optional parameter cannot have default value."
	msgCatchAllMustBeLast        = "A catch-all parameter can only appear as the last segment of the route template."
	msgCatchAllInMultiSegment    = "A path segment that contains more than one section, such as a literal section or a parameter, cannot contain a catch-all parameter."
	msgConsecutiveParameters     = "A path segment cannot contain two consecutive parameters. They must be separated by a '/' or by a literal string."
	msgInvalidTilde              = "The route template cannot start with a '~' character unless followed by a '/'."

	fmtInvalidParameterName = "The route parameter name '%s' is invalid. Route parameter names must be non-empty and cannot contain these characters: '{', '}', '/'. The '?' character marks a parameter as optional, and can occur only at the end of the parameter. The '*' character marks a parameter as catch-all, and can occur only at the start of the parameter."
	fmtRepeatedParameter    = "The route parameter name '%s' appears more than one time in the route template."
	fmtInvalidLiteral       = "The literal section '%s' is invalid. Literal sections cannot contain the '?' character."
	fmtOptionalPrecededBy   = "In the segment '%s', the optional parameter '%s' is preceded by an invalid segment '%s'. Only a period (.) can precede an optional parameter."
	fmtOptionalNotLast      = "An optional parameter must be at the end of the segment. In the segment '%s', optional parameter '%s' is followed by '%s'."
	fmtUnresolvedConstraint = "The constraint entry '%s' - '%s' on the route '%s' could not be resolved by the constraint resolver of type 'DefaultInlineConstraintResolver'."
	fmtNoConstructor        = "Could not find a constructor for constraint type '%s' with the following number of parameters: %d."
	fmtConstraintNotCreated = "An error occurred while trying to create an instance of 'Microsoft.AspNetCore.Routing.Constraints.%s'."
)

// Causes of fmtConstraintNotCreated, in Go's style.
const (
	msgMustBeNonNegative     = "a length must be greater than or equal to 0"
	fmtMinGreaterThanMax     = "argument '%s' must be less than or equal to argument '%s'"
	fmtNotAnInteger          = "%q is not a %d-bit integer"
	msgConstraintNeedsOneArg = "the constraint needs an argument in parentheses"
)

// newError returns an *Error with a formatted message. Parse fills in the
// template.
func newError(format string, args ...any) *Error {
	return &Error{Message: fmt.Sprintf(format, args...)}
}
