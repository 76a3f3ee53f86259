package storage

import (
	"fmt"
	"unicode/utf8"
)

// MaxBlobNameLength is Azure Storage's limit on a blob name, in characters.
const MaxBlobNameLength = 1024

// CheckQueueName reports, as an error wrapping ErrInvalidName, whether name
// breaks Azure Storage's rules for queue names: 3 to 63 characters of
// lowercase letters, digits and hyphens, starting and ending with a letter
// or digit, with no two hyphens in a row.
func CheckQueueName(name string) error { return checkName("queue", name) }

// CheckContainerName reports whether name breaks Azure Storage's rules for
// container names, which are the rules for queue names.
func CheckContainerName(name string) error { return checkName("container", name) }

// CheckBlobName reports whether name breaks Azure Storage's rules for blob
// names: 1 to MaxBlobNameLength characters of valid UTF-8. Any character is
// allowed otherwise; a blob name is a name, never a path.
func CheckBlobName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("blob name is empty: %w", ErrInvalidName)
	case !utf8.ValidString(name):
		return fmt.Errorf("blob name %q is not valid UTF-8: %w", name, ErrInvalidName)
	case utf8.RuneCountInString(name) > MaxBlobNameLength:
		return fmt.Errorf("blob name of %d characters is longer than %d: %w",
			utf8.RuneCountInString(name), MaxBlobNameLength, ErrInvalidName)
	}
	return nil
}

func checkName(kind, name string) error {
	if len(name) < 3 || len(name) > 63 {
		return fmt.Errorf("%s name %q must be 3 to 63 characters long: %w", kind, name, ErrInvalidName)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case c == '-':
			if i == 0 || i == len(name)-1 {
				return fmt.Errorf("%s name %q must start and end with a letter or digit: %w", kind, name, ErrInvalidName)
			}
			if name[i-1] == '-' {
				return fmt.Errorf("%s name %q has two hyphens in a row: %w", kind, name, ErrInvalidName)
			}
		default:
			return fmt.Errorf("%s name %q may hold only lowercase letters, digits and hyphens: %w", kind, name, ErrInvalidName)
		}
	}
	return nil
}
