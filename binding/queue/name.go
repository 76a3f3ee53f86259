package queue

import "strings"

// maxQueueName is Azure Storage's limit on a queue name's length.
const maxQueueName = 63

// NormalizeQueueName lower-cases a queue name, as the real host does before
// it validates one ("must be lowercase. coerce here to be nice"), and
// checks it against Azure Storage's rules. The errors are the storage
// extension's words (QueueClientExtensions.ValidateQueueName).
func NormalizeQueueName(name string) (string, error) {
	name = strings.ToLower(name)
	return name, validateQueueName(name)
}

// realError is an error in the real host's words.
type realError string

func (e realError) Error() string { return string(e) }

func validateQueueName(name string) error {
	if name == "" {
		return realError("A queue name can't be null or empty")
	}
	if len(name) < 3 || len(name) > maxQueueName {
		return realError(`A queue name must be from 3 to 63 characters long - "` + name + `"`)
	}
	if name[0] == '-' || name[len(name)-1] == '-' {
		return realError(`The dash (-) character may not be the first or last letter - "` + name + `"`)
	}
	prev := byte('a')
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'A' && c <= 'Z':
			return realError(`Queue names must be all lower case - "` + name + `"`)
		case !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-'):
			// Unlike the real host, letters outside ASCII are refused
			// here: Azure Storage refuses them anyway.
			return realError(`A queue name can contain only letters, numbers, and dash(-) characters - "` + name + `"`)
		case c == '-' && prev == '-':
			return realError("A queue name cannot contain consecutive dash(-) characters.")
		}
		prev = c
	}
	return nil
}
