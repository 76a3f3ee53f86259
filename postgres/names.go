package postgres

import (
	"fmt"
	"strings"

	"github.com/funcd/funcd/storage"
)

func checkQueueName(name string) error     { return storage.CheckQueueName(name) }
func checkContainerName(name string) error { return storage.CheckContainerName(name) }

// checkBlobName applies Azure Storage's rules for blob names and refuses NUL,
// which PostgreSQL's text cannot hold.
func checkBlobName(name string) error {
	if err := storage.CheckBlobName(name); err != nil {
		return err
	}
	if strings.IndexByte(name, 0) >= 0 {
		return fmt.Errorf("blob name %q holds a NUL character, which this store cannot keep: %w", name, storage.ErrInvalidName)
	}
	return nil
}
