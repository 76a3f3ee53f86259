package route

import "strings"

// parseParameterText splits the text between a parameter's braces (braces
// already unescaped) into name, kind, constraint texts and default, with
// ASP.NET Core's RouteParameterParser rules:
//
//	"*name" / "**name"   catch-all (the second "*" keeps "%2F" encoded)
//	"name?"              optional (the '?' must be last)
//	"name:c1:c2(args)"   constraints
//	"name=value"         default: everything after the '='
//
// The name ends at the first ':' or '=' that is not its first character, so
// "{:x}" is a parameter named ":x". The result is not validated.
func parseParameterText(s string) param {
	var prm param
	from := 0
	switch {
	case strings.HasPrefix(s, "**"):
		prm.catchAll, prm.keepSlashes, from = true, true, 2
	case strings.HasPrefix(s, "*"):
		prm.catchAll, from = true, 1
	}
	last := len(s) - 1
	if last >= 0 && s[last] == '?' {
		prm.optional = true
		last--
	}
	nameEnd, scanFrom := last+1, last+1
	for i := from; i <= last; i++ {
		if (s[i] == ':' || s[i] == '=') && i != from {
			// ASP.NET Core starts scanning constraints at the name's last
			// character; that only matters when it is a '('.
			nameEnd, scanFrom = i, i-1
			break
		}
	}
	if from < nameEnd {
		prm.name = s[from:nameEnd]
	}
	var next int
	prm.policies, next = scanPolicies(s, scanFrom, last)
	if next <= last && s[next] == '=' {
		prm.hasDefault = true
		prm.def = s[next+1 : last+1]
	}
	return prm
}

// policyState is where scanPolicies is within a parameter's constraints.
type policyState uint8

const (
	betweenPolicies policyState = iota // before a ':' that starts a constraint
	inPolicyName                       // in a constraint's name
	inPolicyArgs                       // after a constraint's '('
	policiesDone                       // at the end, or at the '=' of a default
)

// scanPolicies collects the constraint texts in s[i:last+1] the way ASP.NET
// Core does, which is not simply splitting at ':': within parentheses a ':'
// or '=' belongs to the argument as long as a ')' follows somewhere, and a
// ')' ends the argument only when it is followed by ':', '=' or the end.
// It returns the constraints and the index where scanning stopped, which is
// at the '=' of a default, if any.
func scanPolicies(s string, i, last int) ([]string, int) {
	var policies []string
	add := func(text string, evenEmpty bool) {
		if text != "" || evenEmpty {
			policies = append(policies, text)
		}
	}
	state, from := betweenPolicies, i
	for ; state != policiesDone; i++ {
		atEnd := i > last
		var c byte
		if !atEnd {
			c = s[i]
		}
		switch state {
		case betweenPolicies:
			switch {
			case atEnd:
				state = policiesDone
			case c == ':':
				state, from = inPolicyName, i+1
			case c == '(':
				state = inPolicyArgs
			case c == '=':
				state = policiesDone
				i-- // stay on the '='
			}
		case inPolicyName:
			switch {
			case atEnd:
				add(s[from:i], false)
				state = policiesDone
			case c == ':':
				add(s[from:i], false)
				from = i + 1
			case c == '(':
				state = inPolicyArgs
			case c == '=':
				add(s[from:i], false)
				state = policiesDone
				i--
			}
		case inPolicyArgs:
			switch {
			case atEnd:
				add(s[from:i], true)
				state = policiesDone
			case c == ')':
				state, from = closeArgs(s, i, last, from, add)
			case c == ':' || c == '=':
				closing := strings.IndexByte(s[i+1:], ')')
				if closing >= 0 {
					i += closing + 1 // jump to that ')'; it does not end the argument
					continue
				}
				add(s[from:i], true)
				if c == ':' {
					state, from = inPolicyName, i+1
				} else {
					state = policiesDone
					i--
				}
			}
		}
	}
	return policies, i
}

// closeArgs handles a ')' at s[i] inside a constraint's arguments: it ends
// the constraint when followed by the end, ':' or '=', and is part of the
// argument otherwise. It returns the next state and constraint start.
func closeArgs(s string, i, last, from int, add func(string, bool)) (policyState, int) {
	if i == last {
		add(s[from:i+1], true)
		return policiesDone, from
	}
	switch s[i+1] {
	case ':':
		add(s[from:i+1], true)
		return betweenPolicies, i + 1
	case '=':
		add(s[from:i+1], true)
		return policiesDone, from
	}
	return inPolicyArgs, from
}
