package blob

import (
	"fmt"
	"os"
	"testing"

	"github.com/funcd/funcd/azstorage/azuritetest"
)

// azurite serves the tests of the trigger on Azure Storage; it starts with
// the first of them.
var azurite azuritetest.Shared

func TestMain(m *testing.M) {
	code := m.Run()
	if err := azurite.Stop(); err != nil && code == 0 {
		fmt.Fprintln(os.Stderr, "FAIL: stopping Azurite:", err)
		code = 1
	}
	os.Exit(code)
}
