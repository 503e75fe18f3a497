package cluster

import (
	"bytes"
	"context"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
)

// Two runs may send the same artifact bytes at once (the coordinator then
// holds two events naming them); deleting the first once it is recorded
// must leave the second whole. Named blobs are objects of their own.
func TestNamedBlobsAreTheirOwn(t *testing.T) {
	opts := &server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoLog: true, NoSigs: true}
	ns, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	defer ns.Shutdown()
	if !ns.ReadyForConnections(10e9) {
		t.Fatal("server not ready")
	}
	ctx := context.Background()
	c, err := Connect(ctx, ConnOptions{URL: ns.ClientURL()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	data := bytes.Repeat([]byte("checkpoint "), 50_000) // above the inline limit
	a, err := c.putBlob(ctx, data, "1-1-ab-1-a1")
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.putBlob(ctx, data, "2-1-cd-1-a1")
	if err != nil {
		t.Fatal(err)
	}
	if !a.Object || !b.Object || a.SHA256 != b.SHA256 || a.object() == b.object() {
		t.Fatalf("blobs %+v and %+v: want two objects of the same bytes", a, b)
	}
	c.deleteBlob(ctx, a)
	if got, err := c.getBlob(ctx, b); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("the second blob after the first was deleted: %v", err)
	}
	if _, err := c.getBlob(ctx, a); err == nil {
		t.Error("the deleted blob is still there")
	}
	// Unnamed blobs (requests, datasets) stay content-addressed: stored once.
	u, err := c.putBlob(ctx, data, "")
	if err != nil || u.object() != u.SHA256 {
		t.Fatalf("unnamed blob %+v: %v", u, err)
	}
	var bad Blob = b
	bad.Name = "no spaces allowed"
	if bad.validate() == nil {
		t.Error("a blob name that is not a safe token validated")
	}
}
