package cluster_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"

	"github.com/aexp/aexp/cluster"
)

// TestAuthOptions: each standard client option reaches the server — a
// token, an NKey seed file, TLS with the server's CA — and the wrong or a
// missing secret is refused with an error.
func TestAuthOptions(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	check := func(t *testing.T, ns *server.Server, good cluster.ConnOptions, bad ...cluster.ConnOptions) {
		t.Helper()
		if _, err := cluster.Workers(ctx, good); err != nil {
			t.Fatalf("with the right options: %v", err)
		}
		for _, o := range bad {
			if _, err := cluster.Workers(ctx, o); err == nil {
				t.Errorf("%+v: connected", o)
			}
		}
	}
	t.Run("token", func(t *testing.T) {
		ns := startServerWith(t, &server.Options{JetStream: true, Authorization: "s3cret"}, t.TempDir(), 0)
		url := ns.ClientURL()
		check(t, ns, cluster.ConnOptions{URL: url, Token: "s3cret"},
			cluster.ConnOptions{URL: url, Token: "wrong"}, cluster.ConnOptions{URL: url})
	})
	t.Run("nkey", func(t *testing.T) {
		kp, err := nkeys.CreateUser()
		if err != nil {
			t.Fatal(err)
		}
		pub, _ := kp.PublicKey()
		seed, _ := kp.Seed()
		seedFile := filepath.Join(dir, "user.nk")
		if err := os.WriteFile(seedFile, seed, 0o600); err != nil {
			t.Fatal(err)
		}
		other, _ := nkeys.CreateUser()
		otherSeed, _ := other.Seed()
		otherFile := filepath.Join(dir, "other.nk")
		if err := os.WriteFile(otherFile, otherSeed, 0o600); err != nil {
			t.Fatal(err)
		}
		ns := startServerWith(t, &server.Options{JetStream: true, Nkeys: []*server.NkeyUser{{Nkey: pub}}}, t.TempDir(), 0)
		url := ns.ClientURL()
		check(t, ns, cluster.ConnOptions{URL: url, NKeySeed: seedFile},
			cluster.ConnOptions{URL: url, NKeySeed: otherFile}, cluster.ConnOptions{URL: url})
	})
	t.Run("tls", func(t *testing.T) {
		caFile, cert := testCA(t, dir)
		ns := startServerWith(t, &server.Options{JetStream: true, TLS: true,
			TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, TLSTimeout: 5}, t.TempDir(), 0)
		url := strings.Replace(ns.ClientURL(), "nats://", "tls://", 1)
		check(t, ns, cluster.ConnOptions{URL: url, CA: caFile},
			cluster.ConnOptions{URL: url}) // the system roots do not know the test CA
	})
	if _, err := cluster.Workers(ctx, cluster.ConnOptions{URL: "nats://127.0.0.1:1", Token: "a", User: "b"}); err == nil ||
		!strings.Contains(err.Error(), "only one of") {
		t.Errorf("two kinds of credentials: %v", err)
	}
}

// testCA writes a CA certificate to dir and returns its file and a server
// certificate it signed for 127.0.0.1 and localhost.
func testCA(t *testing.T, dir string) (string, tls.Certificate) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "aexp test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o644); err != nil {
		t.Fatal(err)
	}
	return caFile, tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}
