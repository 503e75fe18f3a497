package main

import (
	"flag"
	"os"
	"strings"
	"time"

	"github.com/aexp/aexp/cluster"
)

// natsFlags registers the NATS connection flags (the standard client
// options) on fs and returns a function that, after parsing, gives the
// connection options; URL is empty when neither --nats nor $AEXP_NATS_URL
// is set. Secrets may come from the environment instead of flags, so they
// stay out of `ps`: AEXP_NATS_PASSWORD, AEXP_NATS_TOKEN.
func natsFlags(fs *flag.FlagSet) func() cluster.ConnOptions {
	var o cluster.ConnOptions
	fs.StringVar(&o.URL, "nats", "", "NATS server URL, e.g. nats://host:4222 (default: $"+cluster.URLEnv+")")
	fs.StringVar(&o.Creds, "nats-creds", "", "NATS credentials file (JWT + NKey seed)")
	fs.StringVar(&o.NKeySeed, "nats-nkey", "", "file holding an NKey seed")
	fs.StringVar(&o.User, "nats-user", "", "NATS user (password from $AEXP_NATS_PASSWORD)")
	fs.StringVar(&o.Token, "nats-token", "", "NATS token (default: $AEXP_NATS_TOKEN)")
	fs.StringVar(&o.CA, "nats-ca", "", "PEM file of the CA that signed the NATS server's TLS certificate")
	fs.StringVar(&o.Cert, "nats-cert", "", "client TLS certificate (mutual TLS; with --nats-key)")
	fs.StringVar(&o.Key, "nats-key", "", "client TLS key")
	return func() cluster.ConnOptions {
		out := o
		if strings.TrimSpace(out.URL) == "" {
			out.URL = strings.TrimSpace(os.Getenv(cluster.URLEnv))
		}
		if out.User != "" {
			out.Password = os.Getenv("AEXP_NATS_PASSWORD")
		}
		if out.Token == "" && out.User == "" && out.Creds == "" && out.NKeySeed == "" {
			out.Token = os.Getenv("AEXP_NATS_TOKEN")
		}
		return out
	}
}

// ackWaitFlag is the ack wait of the run queue, shared by worker and sweep.
func ackWaitFlag(fs *flag.FlagSet) *time.Duration {
	return fs.Duration("ack-wait", cluster.DefaultAckWait, "with --nats: how long a run may go without word from its worker before JetStream gives it to another")
}
