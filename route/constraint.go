package route

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// constraint is one inline constraint of a parameter, ready to check values.
type constraint struct {
	check func(value string) bool
	// missingOK is the result for a parameter without a value (an empty
	// catch-all). ASP.NET Core's constraints reject a missing value, except
	// nonfile, which is there to keep file names out and lets it through.
	missingOK bool
}

// constraintDef is one entry of ASP.NET Core's default constraint map.
// Exactly one of fixed, whole and split is set, mirroring how
// DefaultInlineConstraintResolver calls the constraint class's constructor.
type constraintDef struct {
	name     string // as written in templates; matched ignoring case
	typeName string // the ASP.NET Core class, for error messages
	// fixed is the check of a constraint without arguments.
	fixed func(string) bool
	// whole builds a constraint whose single argument is the whole text
	// between the parentheses, commas included.
	whole func(arg string) (func(string) bool, error)
	// split builds a constraint from comma-separated, trimmed arguments;
	// arities lists the argument counts it has constructors for.
	split     func(args []string) (func(string) bool, error)
	arities   []int
	missingOK bool
}

var constraintDefs = []constraintDef{
	{name: "int", typeName: "IntRouteConstraint", fixed: isInt32},
	{name: "bool", typeName: "BoolRouteConstraint", fixed: isBool},
	{name: "datetime", typeName: "DateTimeRouteConstraint", fixed: isDateTime},
	{name: "decimal", typeName: "DecimalRouteConstraint", fixed: isDecimal},
	{name: "double", typeName: "DoubleRouteConstraint", fixed: isFloat},
	{name: "float", typeName: "FloatRouteConstraint", fixed: isFloat},
	{name: "guid", typeName: "GuidRouteConstraint", fixed: isGUID},
	{name: "long", typeName: "LongRouteConstraint", fixed: isInt64},
	{name: "minlength", typeName: "MinLengthRouteConstraint", whole: newMinLength},
	{name: "maxlength", typeName: "MaxLengthRouteConstraint", whole: newMaxLength},
	{name: "length", typeName: "LengthRouteConstraint", split: newLength, arities: []int{1, 2}},
	{name: "min", typeName: "MinRouteConstraint", whole: newMin},
	{name: "max", typeName: "MaxRouteConstraint", whole: newMax},
	{name: "range", typeName: "RangeRouteConstraint", split: newRange, arities: []int{2}},
	{name: "alpha", typeName: "AlphaRouteConstraint", fixed: isAlpha},
	{name: "regex", typeName: "RegexInlineRouteConstraint", whole: newRegex},
	{name: "required", typeName: "RequiredRouteConstraint", fixed: isNonEmpty},
	{name: "file", typeName: "FileNameRouteConstraint", fixed: isFileName},
	{name: "nonfile", typeName: "NonFileNameRouteConstraint", fixed: isNotFileName, missingOK: true},
}

// resolveConstraints builds the constraints of every parameter, in order.
func resolveConstraints(params []param, template string) *Error {
	for i := range params {
		prm := &params[i]
		for _, text := range prm.policies {
			c, err := resolveConstraint(prm.name, text, template)
			if err != nil {
				return err
			}
			prm.constraints = append(prm.constraints, c)
		}
	}
	return nil
}

// resolveConstraint turns a constraint text such as "min(1)" into a
// constraint. name and template only go into error messages.
func resolveConstraint(name, text, template string) (constraint, *Error) {
	key, args, hasArgs := splitConstraintText(text)
	def := lookupConstraint(key)
	if def == nil {
		return constraint{}, newError(fmtUnresolvedConstraint, name, text, template)
	}
	check, err := def.build(args, hasArgs)
	if err != nil {
		return constraint{}, err
	}
	return constraint{check: check, missingOK: def.missingOK}, nil
}

// splitConstraintText splits "name(args)" at its first '('. Text without a
// '(' or not ending in ')' is all name.
func splitConstraintText(text string) (key, args string, hasArgs bool) {
	open := strings.IndexByte(text, '(')
	if open < 0 || !strings.HasSuffix(text, ")") {
		return text, "", false
	}
	return text[:open], text[open+1 : len(text)-1], true
}

func lookupConstraint(key string) *constraintDef {
	for i := range constraintDefs {
		if equalFold(constraintDefs[i].name, key) {
			return &constraintDefs[i]
		}
	}
	return nil
}

// build calls the constructor that fits the arguments, reporting what
// ASP.NET Core reports when none fits or the constructor fails.
func (d *constraintDef) build(args string, hasArgs bool) (func(string) bool, *Error) {
	var (
		check func(string) bool
		err   error
	)
	switch {
	case d.fixed != nil:
		if hasArgs {
			return nil, newError(fmtNoConstructor, d.typeName, len(strings.Split(args, ",")))
		}
		return d.fixed, nil
	case d.whole != nil:
		if !hasArgs {
			err = errors.New(msgConstraintNeedsOneArg)
		} else {
			check, err = d.whole(args)
		}
	default:
		list := splitConstraintArgs(args, hasArgs)
		if !slices.Contains(d.arities, len(list)) {
			return nil, newError(fmtNoConstructor, d.typeName, len(list))
		}
		check, err = d.split(list)
	}
	if err != nil {
		return nil, &Error{Message: fmt.Sprintf(fmtConstraintNotCreated, d.typeName), Err: err}
	}
	return check, nil
}

// splitConstraintArgs splits arguments at commas and trims them; no
// parentheses means no arguments, "()" one empty argument.
func splitConstraintArgs(args string, hasArgs bool) []string {
	if !hasArgs {
		return nil
	}
	list := strings.Split(args, ",")
	for i := range list {
		list[i] = strings.TrimSpace(list[i])
	}
	return list
}

// Constructors.

func newMin(arg string) (func(string) bool, error) {
	lo, err := integerArg(arg, 64)
	if err != nil {
		return nil, err
	}
	return func(v string) bool {
		n, ok := parseInteger(v, 64)
		return ok && n >= lo
	}, nil
}

func newMax(arg string) (func(string) bool, error) {
	hi, err := integerArg(arg, 64)
	if err != nil {
		return nil, err
	}
	return func(v string) bool {
		n, ok := parseInteger(v, 64)
		return ok && n <= hi
	}, nil
}

func newRange(args []string) (func(string) bool, error) {
	lo, err := integerArg(args[0], 64)
	if err != nil {
		return nil, err
	}
	hi, err := integerArg(args[1], 64)
	if err != nil {
		return nil, err
	}
	if lo > hi {
		return nil, fmt.Errorf(fmtMinGreaterThanMax, "min", "max")
	}
	return func(v string) bool {
		n, ok := parseInteger(v, 64)
		return ok && lo <= n && n <= hi
	}, nil
}

func newMinLength(arg string) (func(string) bool, error) {
	lo, err := lengthArg(arg)
	if err != nil {
		return nil, err
	}
	return func(v string) bool { return utf16Len(v) >= lo }, nil
}

func newMaxLength(arg string) (func(string) bool, error) {
	hi, err := lengthArg(arg)
	if err != nil {
		return nil, err
	}
	return func(v string) bool { return utf16Len(v) <= hi }, nil
}

func newLength(args []string) (func(string) bool, error) {
	lo, err := lengthArg(args[0])
	if err != nil {
		return nil, err
	}
	hi := lo
	if len(args) == 2 {
		if hi, err = lengthArg(args[1]); err != nil {
			return nil, err
		}
		if lo > hi {
			return nil, fmt.Errorf(fmtMinGreaterThanMax, "minLength", "maxLength")
		}
	}
	return func(v string) bool {
		n := utf16Len(v)
		return lo <= n && n <= hi
	}, nil
}

// newRegex compiles expr case-insensitively. Like ASP.NET Core's regex
// constraint it is not anchored: "^" and "$" are up to the expression.
func newRegex(expr string) (func(string) bool, error) {
	re, err := regexp.Compile("(?i)" + expr)
	if err != nil {
		return nil, err
	}
	return re.MatchString, nil
}

// integerArg converts a constructor argument as .NET's Convert.ChangeType
// does for an int or a long.
func integerArg(arg string, bits int) (int64, error) {
	n, ok := parseInteger(arg, bits)
	if !ok {
		return 0, fmt.Errorf(fmtNotAnInteger, arg, bits)
	}
	return n, nil
}

// lengthArg converts a length constructor argument: a non-negative int.
func lengthArg(arg string) (int, error) {
	n, err := integerArg(arg, 32)
	if err != nil {
		return 0, err
	}
	if n < 0 {
		return 0, errors.New(msgMustBeNonNegative)
	}
	return int(n), nil
}

// Checks without arguments.

func isInt32(v string) bool {
	_, ok := parseInteger(v, 32)
	return ok
}

func isInt64(v string) bool {
	_, ok := parseInteger(v, 64)
	return ok
}

// isAlpha reports whether v is ASCII letters only, possibly none. The
// trailing "\n" it allows is .NET's "$", which also matches before a final
// newline, in ASP.NET Core's ^[A-Za-z]*$.
func isAlpha(v string) bool {
	v = strings.TrimSuffix(v, "\n")
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

func isNonEmpty(v string) bool { return v != "" }

// isFileName reports whether the last "/"-separated part of v contains a
// "." followed by at least one character other than ".".
func isFileName(v string) bool {
	if v == "" {
		return false
	}
	last := v[strings.LastIndexByte(v, '/')+1:]
	_, ext, ok := strings.Cut(last, ".")
	return ok && strings.Trim(ext, ".") != ""
}

func isNotFileName(v string) bool { return !isFileName(v) }

// satisfiedBy reports whether a value satisfies the constraint; ok is false
// for a parameter without a value.
func (c constraint) satisfiedBy(v string, ok bool) bool {
	if !ok {
		return c.missingOK
	}
	return c.check(v)
}
