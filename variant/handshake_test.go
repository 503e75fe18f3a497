package variant_test

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aexp/aexp/variant"
)

// TestHandshakeLine checks the documented handshake a non-Go host or test
// would see: one stdout line 1|1|<network>|<addr>|grpc|<cert>, with the
// server certificate (AutoMTLS) as unpadded base64 DER.
func TestHandshakeLine(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		DNSNames: []string{"localhost"}, NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth},
		IsCA:        true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})

	cmd := exec.Command(testPlugin(t))
	cmd.Env = []string{
		variant.MagicCookieKey + "=" + variant.MagicCookieValue,
		"PLUGIN_PROTOCOL_VERSIONS=1",
		"PLUGIN_MIN_PORT=10000", "PLUGIN_MAX_PORT=25000",
		"PLUGIN_CLIENT_CERT=" + string(certPEM),
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		sc.Scan()
		line <- sc.Text()
	}()
	var l string
	select {
	case l = <-line:
	case <-time.After(20 * time.Second):
		t.Fatal("no handshake line")
	}
	f := strings.Split(l, "|")
	if len(f) != 6 || f[0] != "1" || f[1] != "1" || (f[2] != "unix" && f[2] != "tcp") || f[3] == "" || f[4] != "grpc" {
		t.Fatalf("handshake line %q", l)
	}
	certDER, err := base64.RawStdEncoding.DecodeString(f[5])
	if err != nil {
		t.Fatalf("certificate field is not unpadded base64: %v", err)
	}
	if _, err := x509.ParseCertificate(certDER); err != nil {
		t.Fatalf("certificate field: %v", err)
	}

	// Without the magic cookie the binary explains itself and exits 1.
	b, err := exec.Command(testPlugin(t)).CombinedOutput()
	if err == nil || !strings.Contains(string(b), "is an aexp variant plugin: aexp starts it") {
		t.Errorf("run by hand: %v %s", err, b)
	}
}
