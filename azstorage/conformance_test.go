package azstorage_test

import (
	"strings"
	"testing"
	"time"

	"github.com/funcd/funcd/azstorage"
	"github.com/funcd/funcd/azstorage/azuritetest"
	"github.com/funcd/funcd/clock"
	"github.com/funcd/funcd/storage"
	"github.com/funcd/funcd/storage/storagetest"
)

var azurite *azuritetest.Server

func TestMain(m *testing.M) { azuritetest.Main(m, &azurite) }

// realTime is why the suite runs on the real clock against Azurite.
var realTime = storagetest.RealTime("Azure Storage and Azurite keep their own time")

// differs names the conformance cases that hold the embedded store to a
// behaviour Azure Storage does differently, and why; the provider's own
// tests cover what Azure does instead.
var differs = map[string]string{
	"EnqueueReceiveDelete": "its body holds a NUL and invalid UTF-8, and Azure queue messages are XML text (TestBinaryBody, TestEnqueueReceiveDelete)",
	"OldestFirst":          "Azure Storage does not promise first-in first-out order, and Azurite returns a later message before earlier ones whose timeout ran out (TestOrder)",
	"TimeToLive":           "Azure's ApproximateMessagesCount counts an expired message until the service collects it (TestTimeToLive)",
	"OddNames":             "Azure Storage turns a backslash in a blob name into a slash, so back\\slash and back/slash are one blob (TestOddBlobNames)",
}

func open(t *testing.T, _ clock.Clock) *azstorage.Provider {
	t.Helper()
	for name, why := range differs {
		if strings.HasSuffix(t.Name(), "/"+name) {
			t.Skipf("skipped: %s", why)
		}
	}
	return azurite.Open(t)
}

func TestQueuesConformance(t *testing.T) {
	storagetest.RunQueues(t, func(t *testing.T, c clock.Clock) storage.Queues { return open(t, c) }, realTime)
}

func TestBlobsConformance(t *testing.T) {
	storagetest.RunBlobs(t, func(t *testing.T, c clock.Clock) storage.Blobs { return open(t, c) }, realTime)
}

// TestReceiptsConformance waits out a 15 s lease (Azure's shortest), beside
// the other tests.
func TestReceiptsConformance(t *testing.T) {
	t.Parallel()
	storagetest.RunReceipts(t, func(t *testing.T, c clock.Clock) storage.Receipts {
		return open(t, c).BlobReceipts("conformance")
	}, realTime, storagetest.MinLease(15*time.Second))
}
