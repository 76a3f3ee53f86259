package postgres

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/funcd/funcd/storage"
)

// checkQueueName applies Azure Storage's rules for queue names: 3 to 63
// lowercase letters, digits and hyphens, starting and ending with a letter
// or digit, no two hyphens in a row.
func checkQueueName(name string) error {
	if !azureName(name) {
		return fmt.Errorf("queue name %q: %w: want 3 to 63 lowercase letters, digits and single hyphens, starting and ending with a letter or digit", name, storage.ErrInvalidName)
	}
	return nil
}

// checkContainerName applies Azure Storage's rules for container names,
// which are the queue rules plus the special containers $root, $logs and
// $web.
func checkContainerName(name string) error {
	switch name {
	case "$root", "$logs", "$web":
		return nil
	}
	if !azureName(name) {
		return fmt.Errorf("container name %q: %w: want 3 to 63 lowercase letters, digits and single hyphens, starting and ending with a letter or digit", name, storage.ErrInvalidName)
	}
	return nil
}

// checkBlobName applies Azure Storage's rules for blob names: 1 to 1024
// characters of valid UTF-8 (without NUL, which PostgreSQL's text cannot
// hold).
func checkBlobName(name string) error {
	if name == "" || utf8.RuneCountInString(name) > 1024 || !utf8.ValidString(name) || strings.IndexByte(name, 0) >= 0 {
		return fmt.Errorf("blob name %q: %w: want 1 to 1024 characters of UTF-8", name, storage.ErrInvalidName)
	}
	return nil
}

func azureName(name string) bool {
	if len(name) < 3 || len(name) > 63 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c == '-':
			if i == 0 || i == len(name)-1 || name[i-1] == '-' {
				return false
			}
		default:
			return false
		}
	}
	return true
}
