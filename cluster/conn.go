package cluster

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// URLEnv names the NATS server when --nats is not given.
const URLEnv = "AEXP_NATS_URL"

// ConnOptions are the standard NATS client options: where the server is and
// how to authenticate (at most one of Creds, NKeySeed, User/Password, Token;
// a user and password may also be part of the URL).
type ConnOptions struct {
	URL      string
	Name     string // client name shown by the server's monitoring
	Creds    string // a .creds file (JWT and NKey seed)
	NKeySeed string // a file holding an NKey seed
	User     string
	Password string
	Token    string
	CA       string // PEM file of the CA that signed the server's certificate
	Cert     string // client certificate (mutual TLS), with Key
	Key      string

	// Disconnected and Reconnected are called when the connection drops and
	// comes back (they run on the NATS client's goroutine).
	Disconnected func(error)
	Reconnected  func()
	Log          io.Writer
}

// Conn is a connection to a JetStream-enabled NATS server with the streams
// and buckets aexp uses.
type Conn struct {
	NC    *nats.Conn
	JS    jetstream.JetStream
	blobs jetstream.ObjectStore
}

// Connect dials the server (retrying while it is down, reconnecting for
// ever) and makes sure the streams and buckets exist.
func Connect(ctx context.Context, o ConnOptions) (*Conn, error) {
	if o.URL == "" {
		return nil, errors.New("no NATS server: give --nats URL or set " + URLEnv)
	}
	logw := o.Log
	if logw == nil {
		logw = io.Discard
	}
	opts := []nats.Option{
		nats.Name(o.Name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.RetryOnFailedConnect(false),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil && o.Disconnected != nil { // nil: closed by us
				o.Disconnected(err)
			}
		}),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			// asynchronous errors, e.g. a permissions violation
			fmt.Fprintf(logw, "aexp: NATS: %v\n", err)
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			fmt.Fprintf(logw, "aexp: reconnected to NATS at %s\n", nc.ConnectedUrlRedacted())
			if o.Reconnected != nil {
				o.Reconnected()
			}
		}),
	}
	n := 0
	for _, set := range []bool{o.Creds != "", o.NKeySeed != "", o.User != "", o.Token != ""} {
		if set {
			n++
		}
	}
	if n > 1 {
		return nil, errors.New("give only one of a credentials file, an NKey seed, a user and password, or a token")
	}
	switch {
	case o.Creds != "":
		opts = append(opts, nats.UserCredentials(o.Creds))
	case o.NKeySeed != "":
		opt, err := nats.NkeyOptionFromSeed(o.NKeySeed)
		if err != nil {
			return nil, fmt.Errorf("NKey seed %s: %w", o.NKeySeed, err)
		}
		opts = append(opts, opt)
	case o.User != "":
		opts = append(opts, nats.UserInfo(o.User, o.Password))
	case o.Token != "":
		opts = append(opts, nats.Token(o.Token))
	}
	if o.CA != "" {
		opts = append(opts, nats.RootCAs(o.CA))
	}
	if o.Cert != "" || o.Key != "" {
		opts = append(opts, nats.ClientCert(o.Cert, o.Key))
	}
	nc, err := nats.Connect(o.URL, opts...)
	if err != nil {
		return nil, fmt.Errorf("connecting to NATS at %s: %w", redact(o.URL), err)
	}
	c := &Conn{NC: nc}
	if err := c.setup(ctx); err != nil {
		nc.Close()
		return nil, err
	}
	return c, nil
}

func redact(url string) string {
	if i := bytes.IndexByte([]byte(url), '@'); i >= 0 {
		if j := bytes.Index([]byte(url), []byte("://")); j >= 0 && j < i {
			return url[:j+3] + "***" + url[i:]
		}
	}
	return url
}

// Close drains nothing: aexp's state is in JetStream, not in flight.
func (c *Conn) Close() { c.NC.Close() }

// setup creates (or binds to) the streams and buckets. Only features of
// nats-server 2.9 are used.
func (c *Conn) setup(ctx context.Context) error {
	js, err := jetstream.New(c.NC)
	if err != nil {
		return err
	}
	c.JS = js
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	streams := []jetstream.StreamConfig{
		{Name: RunsStream, Subjects: []string{runSubjects}, Retention: jetstream.WorkQueuePolicy,
			Storage: jetstream.FileStorage, Duplicates: 2 * time.Minute,
			Description: "aexp: run requests, one per attempt, taken by workers"},
		{Name: EventsStream, Subjects: []string{eventSubjects}, Retention: jetstream.WorkQueuePolicy,
			Storage: jetstream.FileStorage, MaxAge: 7 * 24 * time.Hour,
			Description: "aexp: epochs, logs, artifacts and ends of runs, read by the coordinator"},
	}
	for _, cfg := range streams {
		if _, err := js.Stream(ctx, cfg.Name); err == nil {
			continue
		}
		if _, err := js.CreateStream(ctx, cfg); err != nil && !errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			return fmt.Errorf("creating stream %s (is JetStream enabled on the server? nats-server -js): %w", cfg.Name, err)
		}
	}
	c.blobs, err = js.ObjectStore(ctx, BlobBucket)
	if err != nil {
		c.blobs, err = js.CreateObjectStore(ctx, jetstream.ObjectStoreConfig{Bucket: BlobBucket,
			Description: "aexp: large artifacts, requests and dataset files, named by sha256",
			TTL:         7 * 24 * time.Hour, Storage: jetstream.FileStorage})
		if err != nil && errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			c.blobs, err = js.ObjectStore(ctx, BlobBucket)
		}
		if err != nil {
			return fmt.Errorf("object store %s: %w", BlobBucket, err)
		}
	}
	return nil
}

// workers returns the registry bucket, creating it when missing.
func (c *Conn) workers(ctx context.Context) (jetstream.KeyValue, error) {
	kv, err := c.JS.KeyValue(ctx, WorkersBucket)
	if err == nil {
		return kv, nil
	}
	kv, err = c.JS.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: WorkersBucket,
		Description: "aexp: live workers (each refreshes its entry; entries expire)",
		TTL:         workerTTL, Storage: jetstream.MemoryStorage})
	if err != nil && errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
		return c.JS.KeyValue(ctx, WorkersBucket)
	}
	return kv, err
}

// inlineMax is the largest payload carried inside a message; larger ones
// go through the object store (NATS' default message limit is 1 MiB).
const inlineMax = 256 << 10

// putBlob makes data a Blob: inline when small, else an object named by
// its sha256 (stored once however often it is put), or by name when one is
// given (an object of its own, for a blob that is deleted once used).
func (c *Conn) putBlob(ctx context.Context, data []byte, name string) (Blob, error) {
	sum := sha256.Sum256(data)
	b := Blob{SHA256: hex.EncodeToString(sum[:]), Size: int64(len(data))}
	if len(data) <= inlineMax {
		b.Data = data
		return b, nil
	}
	b.Object, b.Name = true, name
	if info, err := c.blobs.GetInfo(ctx, b.object()); name == "" && err == nil && info.Size == uint64(len(data)) && !info.Deleted {
		return b, nil
	}
	if _, err := c.blobs.PutBytes(ctx, b.object(), data); err != nil {
		return Blob{}, fmt.Errorf("storing %d bytes in the object store: %w", len(data), err)
	}
	return b, nil
}

// getBlob returns a Blob's bytes, checked against its size and sha256.
func (c *Conn) getBlob(ctx context.Context, b Blob) ([]byte, error) {
	if !b.Object {
		return b.Data, b.check(b.Data)
	}
	data, err := c.blobs.GetBytes(ctx, b.object())
	if err != nil {
		return nil, fmt.Errorf("fetching blob %s from the object store: %w", short(b.object()), err)
	}
	return data, b.check(data)
}

// deleteBlob removes an object blob once it is recorded.
func (c *Conn) deleteBlob(ctx context.Context, b Blob) {
	if b.Object {
		_ = c.blobs.Delete(ctx, b.object())
	}
}

// putFile publishes a file under its sha256 (once) and returns its ref.
func (c *Conn) putFile(ctx context.Context, path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, err
	}
	sum := hex.EncodeToString(h.Sum(nil))
	name := "data-" + sum
	if info, err := c.blobs.GetInfo(ctx, name); err == nil && info.Size == uint64(n) && !info.Deleted {
		return sum, n, nil
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return "", 0, err
	}
	if _, err := c.blobs.Put(ctx, jetstream.ObjectMeta{Name: name}, f); err != nil {
		return "", 0, fmt.Errorf("publishing %s: %w", path, err)
	}
	return sum, n, nil
}

// getFile fetches a published file to path, checking its sha256.
func (c *Conn) getFile(ctx context.Context, sum string, size int64, path string) error {
	tmp := path + ".part"
	if err := c.blobs.GetFile(ctx, "data-"+sum, tmp); err != nil {
		return fmt.Errorf("fetching dataset %s: %w", short(sum), err)
	}
	f, err := os.Open(tmp)
	if err != nil {
		return err
	}
	h := sha256.New()
	n, err := io.Copy(h, f)
	f.Close()
	if err == nil && (n != size || hex.EncodeToString(h.Sum(nil)) != sum) {
		err = fmt.Errorf("dataset %s: fetched file does not match its sha256", short(sum))
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}
