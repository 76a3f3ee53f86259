package e2e

// End-to-end checks of the queue and blob triggers on Azure Storage: the
// triggers app (testdata/triggers) with AzureWebJobsStorage set to the
// connection string of an Azurite account, driven and read back through
// the Azure SDK for Go as another client of the account would.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue/queueerror"

	"github.com/funcd/funcd/azstorage"
	"github.com/funcd/funcd/azstorage/azuritetest"
	"github.com/funcd/funcd/hosttest"
)

// azurite serves this package's Azure Storage tests: started by the first
// of them, stopped by TestMain.
var azurite azuritetest.Shared

// azureHostID is the host id of the Azure apps, fixed so that the test
// knows where the receipts go and two hosts on one account share them.
const azureHostID = "funcde2eazure"

// azureAccount is a fresh Azurite account, with SDK clients of its queues
// and blobs.
type azureAccount struct {
	acct   azstorage.Account
	queues *azqueue.ServiceClient
	blobs  *azblob.Client
}

func newAzureAccount(t *testing.T) *azureAccount {
	t.Helper()
	acct := azurite.Get(t).Account(t)
	qcred, err := azqueue.NewSharedKeyCredential(acct.Name, acct.Key)
	if err != nil {
		t.Fatal(err)
	}
	queues, err := azqueue.NewServiceClientWithSharedKeyCredential(acct.QueueEndpoint, qcred, nil)
	if err != nil {
		t.Fatal(err)
	}
	bcred, err := azblob.NewSharedKeyCredential(acct.Name, acct.Key)
	if err != nil {
		t.Fatal(err)
	}
	blobs, err := azblob.NewClientWithSharedKeyCredential(acct.BlobEndpoint, bcred, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &azureAccount{acct: acct, queues: queues, blobs: blobs}
}

// azureApp copies the triggers app with its AzureWebJobsStorage set to the
// account's connection string.
func (a *azureAccount) app(t *testing.T) string {
	t.Helper()
	app := triggersApp(t)
	settings, err := json.Marshal(map[string]any{
		"IsEncrypted": false,
		"Values": map[string]string{
			"AzureWebJobsStorage":           azuritetest.ConnectionString(a.acct),
			"FUNCTIONS_WORKER_RUNTIME":      "custom",
			"AzureFunctionsWebHost__hostid": azureHostID,
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(app, "local.settings.json"), settings, 0o644); err != nil {
		t.Fatal(err)
	}
	return app
}

// start runs app in development mode (the queue triggers poll at least
// every 2 s, as under Core Tools) with state of its own.
func (a *azureAccount) start(t *testing.T, app string) *hosttest.Server {
	t.Helper()
	return hosttest.Start(t, app, hosttest.Options{Env: map[string]string{"AZURE_FUNCTIONS_ENVIRONMENT": "Development"}})
}

// enqueue sends a message as a client of the queue trigger's default
// encoding does: base64 text.
func (a *azureAccount) enqueue(t *testing.T, queue, text string) *azqueue.EnqueueMessagesResponse {
	t.Helper()
	ctx := context.Background()
	q := a.queues.NewQueueClient(queue)
	if _, err := q.Create(ctx, nil); err != nil && !queueerror.HasCode(err, queueerror.QueueAlreadyExists) {
		t.Fatal(err)
	}
	resp, err := q.EnqueueMessage(ctx, base64.StdEncoding.EncodeToString([]byte(text)), nil)
	if err != nil {
		t.Fatal(err)
	}
	return &resp
}

// texts peeks a queue (up to 32 messages) and decodes each from base64.
func (a *azureAccount) texts(t *testing.T, queue string) []string {
	t.Helper()
	resp, err := a.queues.NewQueueClient(queue).PeekMessages(context.Background(), &azqueue.PeekMessagesOptions{NumberOfMessages: to.Ptr[int32](32)})
	if queueerror.HasCode(err, queueerror.QueueNotFound) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range resp.Messages {
		b, err := base64.StdEncoding.DecodeString(*m.MessageText)
		if err != nil {
			t.Fatalf("message %s in %s is not base64: %q", *m.MessageID, queue, *m.MessageText)
		}
		out = append(out, string(b))
	}
	return out
}

// count is a queue's approximate message count, invisible messages
// included; -1 when the queue does not exist.
func (a *azureAccount) count(t *testing.T, queue string) int {
	t.Helper()
	resp, err := a.queues.NewQueueClient(queue).GetProperties(context.Background(), nil)
	if queueerror.HasCode(err, queueerror.QueueNotFound) {
		return -1
	}
	if err != nil {
		t.Fatal(err)
	}
	return int(*resp.ApproximateMessagesCount)
}

func (a *azureAccount) put(t *testing.T, container, name, body string) {
	t.Helper()
	ctx := context.Background()
	if _, err := a.blobs.CreateContainer(ctx, container, nil); err != nil && !bloberror.HasCode(err, bloberror.ContainerAlreadyExists) {
		t.Fatal(err)
	}
	if _, err := a.blobs.UploadBuffer(ctx, container, name, []byte(body), nil); err != nil {
		t.Fatal(err)
	}
}

// read reads a blob; ok is false when it does not exist.
func (a *azureAccount) read(t *testing.T, container, name string) (body []byte, ok bool) {
	t.Helper()
	resp, err := a.blobs.DownloadStream(context.Background(), container, name, nil)
	if bloberror.HasCode(err, bloberror.BlobNotFound, bloberror.ContainerNotFound) {
		return nil, false
	}
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b, true
}

// waitBlob waits for a blob to hold want.
func (a *azureAccount) waitBlob(t *testing.T, container, name, want string) {
	t.Helper()
	eventually(t, 20*time.Second, container+"/"+name+" to hold "+want, func() bool {
		b, ok := a.read(t, container, name)
		return ok && bytes.Equal(b, []byte(want))
	})
}

// etag is a blob's ETag as its properties give it, in quotes.
func (a *azureAccount) etag(t *testing.T, container, name string) string {
	t.Helper()
	props, err := a.blobs.ServiceClient().NewContainerClient(container).NewBlobClient(name).GetProperties(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return string(*props.ETag)
}

// metaString decodes a metadata value: a JSON string, or a JSON string
// holding one.
func metaString(t *testing.T, what string, raw json.RawMessage) string {
	t.Helper()
	s := decodeString(t, what, raw)
	var inner string
	if json.Unmarshal([]byte(s), &inner) == nil {
		return inner
	}
	return s
}

func TestAzureQueueToQueueOutput(t *testing.T) {
	t.Parallel()
	a := newAzureAccount(t)
	app := a.app(t)
	a.start(t, app)
	sent := a.enqueue(t, "fanin", "order 7")
	eventually(t, 20*time.Second, "three messages in fanout", func() bool { return len(a.texts(t, "fanout")) == 3 })
	got := a.texts(t, "fanout")
	want := []string{"first of order 7", "second of order 7", `{"from":"order 7"}`}
	for _, w := range want {
		found := false
		for _, g := range got {
			found = found || g == w
		}
		if !found {
			t.Errorf("fanout holds %q, want %q among them", got, w)
		}
	}

	cs := calls(t, app, "queuefanout")
	if len(cs) != 1 {
		t.Fatalf("queuefanout ran %d times, want 1", len(cs))
	}
	md := cs[0].Payload.Metadata
	if d := decodeString(t, "Data.msg", cs[0].Payload.Data["msg"]); d != `"order 7"` {
		t.Errorf("Data.msg = %q, want the JSON string %q", d, `"order 7"`)
	}
	for _, k := range []string{"DequeueCount", "Id", "PopReceipt", "InsertionTime", "ExpirationTime", "NextVisibleTime"} {
		if _, ok := md[k]; !ok {
			t.Errorf("Metadata has no %s; keys %v", k, keysOf(md))
		}
	}
	if id := metaString(t, "Metadata.Id", md["Id"]); id != *sent.Messages[0].MessageID {
		t.Errorf("Metadata.Id = %q, want the message id %s", id, *sent.Messages[0].MessageID)
	}
	if dc := strings.Trim(string(md["DequeueCount"]), `"`); dc != "1" {
		t.Errorf("Metadata.DequeueCount = %s, want 1", md["DequeueCount"])
	}
	inserted, err := time.Parse(time.RFC3339, metaString(t, "Metadata.InsertionTime", md["InsertionTime"]))
	if err != nil {
		t.Errorf("Metadata.InsertionTime = %s: %v", md["InsertionTime"], err)
	} else if d := inserted.Sub(*sent.Messages[0].InsertionTime); d < -time.Second || d > time.Second {
		t.Errorf("Metadata.InsertionTime = %v, want the message's %v", inserted, *sent.Messages[0].InsertionTime)
	}
	eventually(t, 10*time.Second, "the trigger message to be deleted", func() bool { return a.count(t, "fanin") == 0 })
}

func TestAzureQueuePoison(t *testing.T) {
	t.Parallel()
	a := newAzureAccount(t)
	app := a.app(t)
	a.start(t, app)
	a.enqueue(t, "doomed", "bad news")
	eventually(t, 20*time.Second, "the message in doomed-poison", func() bool { return len(a.texts(t, "doomed-poison")) == 1 })
	if got := a.texts(t, "doomed-poison"); got[0] != "bad news" {
		t.Errorf("poison message = %q, want %q", got[0], "bad news")
	}
	eventually(t, 10*time.Second, "doomed to be empty", func() bool { return a.count(t, "doomed") == 0 })
	// maxDequeueCount is 2 in host.json: two tries, then poison.
	if n := len(calls(t, app, "queuefail")); n != 2 {
		t.Errorf("queuefail ran %d times, want 2 (maxDequeueCount)", n)
	}
}

// TestAzureBlobTriggerOnce: a blob is copied once, its receipt is where the
// real host keeps it, and a second host on the account (state of its own,
// so it scans the container afresh) does not copy it again.
func TestAzureBlobTriggerOnce(t *testing.T) {
	t.Parallel()
	a := newAzureAccount(t)
	app := a.app(t)
	runsFor := func(name string) int {
		n := 0
		for _, c := range calls(t, app, "blobcopy") {
			if metaString(t, "Metadata.name", c.Payload.Metadata["name"]) == name {
				n++
			}
		}
		return n
	}
	// Put before the host starts, so that its first scan finds it.
	a.put(t, "inbox", "report.txt", "first version, with spaces\n")
	etag := a.etag(t, "inbox", "report.txt")
	first := a.start(t, app)
	a.waitBlob(t, "outbox", "report.copy", "first version, with spaces\n")

	c := calls(t, app, "blobcopy")[0]
	if uri := metaString(t, "Metadata.Uri", c.Payload.Metadata["Uri"]); uri != a.acct.BlobEndpoint+"/inbox/report.txt" {
		t.Errorf("Metadata.Uri = %q, want %q", uri, a.acct.BlobEndpoint+"/inbox/report.txt")
	}
	receipt := "blobreceipts/" + azureHostID + "/Host.Functions.blobcopy/" + etag + "/inbox/report.txt"
	hosts := a.blobs.ServiceClient().NewContainerClient(azstorage.HostsContainer)
	eventually(t, 10*time.Second, "the receipt "+receipt+" to be complete", func() bool {
		props, err := hosts.NewBlobClient(receipt).GetProperties(context.Background(), nil)
		var re *azcore.ResponseError
		if errors.As(err, &re) && re.StatusCode == 404 {
			return false
		}
		if err != nil {
			t.Fatal(err)
		}
		for k := range props.Metadata {
			if strings.EqualFold(k, "Incomplete") {
				return false
			}
		}
		return true
	})
	first.Close()

	// The second host scans the whole container: report.txt again, then
	// the barrier put now. Once the barrier is copied and the blob trigger
	// queue is empty, both messages were handled.
	a.put(t, "inbox", "zz-barrier.txt", "barrier\n")
	a.start(t, app)
	a.waitBlob(t, "outbox", "zz-barrier.copy", "barrier\n")
	eventually(t, 10*time.Second, "the blob trigger queue to be empty", func() bool {
		return a.count(t, "azure-webjobs-blobtrigger-"+azureHostID) == 0
	})
	if n := runsFor("report"); n != 1 {
		t.Errorf("blobcopy ran %d times for report.txt, want 1", n)
	}
	if n := runsFor("zz-barrier"); n != 1 {
		t.Errorf("blobcopy ran %d times for zz-barrier.txt, want 1", n)
	}
}
