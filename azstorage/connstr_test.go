package azstorage

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// A key that decodes as base64, and that no error may show.
const testKey = "c2VjcmV0LWtleS12YWx1ZS10aGF0LW11c3Qtbm90LWxlYWs="

func TestParseConnectionString(t *testing.T) {
	dev := DevelopmentAccount()
	for _, c := range []struct {
		in   string
		want Account
	}{
		{"UseDevelopmentStorage=true", dev},
		{"usedevelopmentstorage=TRUE;", dev},
		{" UseDevelopmentStorage = true ; ", dev},
		{"UseDevelopmentStorage=true;DevelopmentStorageProxyUri=http://azurite.local:1234/ignored", Account{
			Name: DevAccountName, Key: DevAccountKey, Development: true,
			BlobEndpoint:  "http://azurite.local:10000/devstoreaccount1",
			QueueEndpoint: "http://azurite.local:10001/devstoreaccount1",
		}},
		{"DefaultEndpointsProtocol=https;AccountName=myacct;AccountKey=" + testKey + ";EndpointSuffix=core.windows.net", Account{
			Name: "myacct", Key: testKey,
			BlobEndpoint: "https://myacct.blob.core.windows.net", QueueEndpoint: "https://myacct.queue.core.windows.net",
		}},
		{"AccountName=myacct;AccountKey=" + testKey, Account{
			Name: "myacct", Key: testKey,
			BlobEndpoint: "https://myacct.blob.core.windows.net", QueueEndpoint: "https://myacct.queue.core.windows.net",
		}},
		{"defaultendpointsprotocol=HTTP;accountname=myacct;accountkey=" + testKey + ";endpointsuffix=core.chinacloudapi.cn", Account{
			Name: "myacct", Key: testKey,
			BlobEndpoint: "http://myacct.blob.core.chinacloudapi.cn", QueueEndpoint: "http://myacct.queue.core.chinacloudapi.cn",
		}},
		// The portal's string carries a table and file endpoint too.
		{"DefaultEndpointsProtocol=https;AccountName=myacct;AccountKey=" + testKey + ";BlobEndpoint=https://b.example.com/;TableEndpoint=https://t.example.com/", Account{
			Name: "myacct", Key: testKey,
			BlobEndpoint: "https://b.example.com/", QueueEndpoint: "https://myacct.queue.core.windows.net",
		}},
		// Azurite spelled out, path-style.
		{"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=" + DevAccountKey +
			";BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;QueueEndpoint=http://127.0.0.1:10001/devstoreaccount1;", Account{
			Name: DevAccountName, Key: DevAccountKey,
			BlobEndpoint: "http://127.0.0.1:10000/devstoreaccount1", QueueEndpoint: "http://127.0.0.1:10001/devstoreaccount1",
		}},
		{"BlobEndpoint=https://b.example.com;QueueEndpoint=https://q.example.com;SharedAccessSignature=?sv=2020&sig=abc", Account{
			SAS: "sv=2020&sig=abc", BlobEndpoint: "https://b.example.com", QueueEndpoint: "https://q.example.com",
		}},
		{"AccountName=myacct;SharedAccessSignature=sv=2020&sig=abc", Account{
			Name: "myacct", SAS: "sv=2020&sig=abc",
			BlobEndpoint: "https://myacct.blob.core.windows.net", QueueEndpoint: "https://myacct.queue.core.windows.net",
		}},
		{"QueueEndpoint=http://localhost:9999/acct", Account{QueueEndpoint: "http://localhost:9999/acct"}},
		{"AccountName=myacct;AccountKey=" + testKey + ";QueueEndpoint=http://localhost:9999/myacct", Account{
			Name: "myacct", Key: testKey, QueueEndpoint: "http://localhost:9999/myacct",
			BlobEndpoint: "https://myacct.blob.core.windows.net",
		}},
	} {
		got, err := ParseConnectionString(c.in)
		if err != nil {
			t.Errorf("ParseConnectionString(%q): %v", c.in, err)
			continue
		}
		if got != c.want {
			t.Errorf("ParseConnectionString(%q) =\n%#v, want\n%#v", c.in, got, c.want)
		}
	}
}

func TestParseConnectionStringErrors(t *testing.T) {
	for _, c := range []struct{ in, setting, msg string }{
		{"", "", "empty"},
		{";;", "", "empty"},
		{"UseDevelopmentStorage=false", "UseDevelopmentStorage", "only value allowed is true"},
		{"UseDevelopmentStorage=true;AccountName=x", "AccountName", "not allowed with UseDevelopmentStorage"},
		{"UseDevelopmentStorage=true;DevelopmentStorageProxyUri=not a url", "DevelopmentStorageProxyUri", "absolute URL"},
		{"AccountName=a;AccountName=b", "AccountName", "given twice"},
		{"AccountName=a;accountname=b", "accountname", "given twice"},
		{testKey, "", "name=value"},
		{"AccountName=myacct;" + testKey, "", "name=value"},
		{"AccountName=myacct;AccountKey=not*base64!", "AccountKey", "not valid base64"},
		{"AccountKey=" + testKey, "AccountKey", "needs AccountName"},
		{"AccountName=myacct", "AccountName", "needs AccountKey"},
		{"AccountName=myacct;AccountKey=" + testKey + ";DefaultEndpointsProtocol=ftp", "DefaultEndpointsProtocol", "http or https"},
		{"AccountName=myacct;AccountKey=" + testKey + ";EndpointSuffix=bad_suffix!", "EndpointSuffix", "DNS name"},
		{"AccountName=My_Acct;AccountKey=" + testKey, "AccountName", "host name"},
		{"AccountName=myacct;AccountKey=" + testKey + ";Colour=blue", "Colour", "not a storage connection string setting"},
		{"AccountName=myacct;AccountKey=" + testKey + ";SharedAccessSignature=sig=1", "SharedAccessSignature", "not both"},
		{"AccountName=myacct;AccountKey=" + testKey + ";BlobEndpoint=ftp://x", "BlobEndpoint", "http or https"},
		{"BlobEndpoint=/relative", "BlobEndpoint", "absolute URL"},
		{"BlobSecondaryEndpoint=https://x.example.com", "BlobSecondaryEndpoint", "needs BlobEndpoint"},
		{"BlobEndpoint=https://x.example.com;EndpointSuffix=core.windows.net", "EndpointSuffix", "allowed only with AccountName"},
		{"AccountName=myacct;BlobEndpoint=https://x.example.com", "AccountName", "needs AccountKey"},
		{"DevelopmentStorageProxyUri=http://x", "DevelopmentStorageProxyUri", "only with UseDevelopmentStorage"},
		{"AccountName=myacct;AccountKey=", "AccountKey", "empty"},
	} {
		_, err := ParseConnectionString(c.in)
		var ce *ConnectionStringError
		if !errors.As(err, &ce) {
			t.Errorf("ParseConnectionString(%q) = %v, want a *ConnectionStringError", c.in, err)
			continue
		}
		if ce.Setting != c.setting || !strings.Contains(ce.Msg, c.msg) {
			t.Errorf("ParseConnectionString(%q): setting %q, %q; want setting %q and %q", c.in, ce.Setting, ce.Msg, c.setting, c.msg)
		}
		if strings.Contains(err.Error(), testKey) || strings.Contains(err.Error(), "sig=") {
			t.Errorf("ParseConnectionString(%q): the error shows a secret: %v", c.in, err)
		}
	}
}

func TestAccountStringHidesSecrets(t *testing.T) {
	a := Account{Name: "myacct", Key: testKey, SAS: "sig=secret", BlobEndpoint: "https://b", QueueEndpoint: "https://q"}
	for _, s := range []string{a.String(), fmt.Sprint(a), fmt.Sprintf("%+v", a), fmt.Sprintf("%#v", a), fmt.Sprintf("%v", &a)} {
		if strings.Contains(s, testKey) || strings.Contains(s, "secret") {
			t.Errorf("printed account shows a secret: %s", s)
		}
		if !strings.Contains(s, "myacct") {
			t.Errorf("printed account %q does not name the account", s)
		}
	}
}

func FuzzParseConnectionString(f *testing.F) {
	for _, s := range []string{
		"UseDevelopmentStorage=true",
		"UseDevelopmentStorage=true;DevelopmentStorageProxyUri=http://h:1",
		"DefaultEndpointsProtocol=https;AccountName=a1;AccountKey=" + testKey + ";EndpointSuffix=core.windows.net",
		"BlobEndpoint=https://b.example.com;QueueEndpoint=https://q.example.com;SharedAccessSignature=sv=1&sig=2",
		"AccountName=a;AccountKey=" + testKey + ";BlobSecondaryEndpoint=https://x",
		"=;==;a=b=c;;",
		testKey,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseConnectionString(s)
		if err != nil {
			var ce *ConnectionStringError
			if !errors.As(err, &ce) {
				t.Fatalf("error %v is not a *ConnectionStringError", err)
			}
			// No value after AccountKey= or SharedAccessSignature= is shown.
			settings, _, _ := splitSettings(s)
			for _, k := range []string{setAccountKey, setSharedAccessSignature} {
				if v := settings[k]; len(v) >= 8 && strings.Count(s, v) == 1 && strings.Contains(err.Error(), v) {
					t.Fatalf("error %q shows the %s", err, k)
				}
			}
			return
		}
		if a.BlobEndpoint == "" && a.QueueEndpoint == "" && !a.Development {
			// A string naming only a table or file endpoint is valid, as
			// for the real host; Open refuses it.
			if _, err := Open(a, Options{}); err == nil {
				t.Fatalf("Open of %v with no endpoints succeeded", a)
			}
			return
		}
		if a.Key != "" && a.Name == "" {
			t.Fatalf("%q gave a key without a name", s)
		}
		if len(a.Key) >= 8 && strings.Count(s, a.Key) == 1 && strings.Contains(a.String()+a.GoString(), a.Key) {
			t.Fatalf("String shows the key")
		}
		if _, err := Open(a, Options{}); err != nil {
			t.Fatalf("Open(%v) of a parsed account: %v", a, err)
		}
	})
}
