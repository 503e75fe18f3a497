// Command foreignplugin implements the aexp plugin protocol WITHOUT the SDK
// and without go-plugin: only the generated code of aexp.proto, plain gRPC,
// the gRPC health service and the handshake written out by hand, following
// the comments in aexp.proto. It stands in for a plugin written in another
// language (Python, Rust, ...) and proves the documentation is enough: the
// SDK's tests launch it with variant.Launch like any other plugin.
//
// It serves on TCP (127.0.0.1) rather than a Unix socket, checks the magic
// cookie, and does the AutoMTLS dance: trust PLUGIN_CLIENT_CERT, present a
// fresh self-signed certificate, and print it in the handshake line.
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"fmt"
	"math"
	"math/big"
	"net"
	"os"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/aexp/aexp/variant/internal/pb"
)

func main() {
	if os.Getenv("AEXP_PLUGIN") != "aexp-variant-7d1f0c52" {
		fmt.Fprintln(os.Stderr, "this is an aexp plugin; aexp starts it")
		os.Exit(1)
	}
	if !strings.Contains(","+os.Getenv("PLUGIN_PROTOCOL_VERSIONS")+",", ",1,") {
		fmt.Fprintln(os.Stderr, "the host does not speak protocol version 1")
	}

	// AutoMTLS: the host's certificate is both the client cert and the CA.
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM([]byte(os.Getenv("PLUGIN_CLIENT_CERT"))) {
		fmt.Fprintln(os.Stderr, "PLUGIN_CLIENT_CERT is missing or not PEM")
		os.Exit(1)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	check(err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "localhost", Organization: []string{"foreignplugin"}},
		DNSNames:     []string{"localhost"},
		NotBefore:    time.Now().Add(-time.Minute), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth},
		IsCA:        true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	check(err)
	tlsCfg := &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pool,
		MinVersion:   tls.VersionTLS12,
	}

	lis, err := net.Listen("tcp", "127.0.0.1:0")
	check(err)
	s := grpc.NewServer(grpc.Creds(credentials.NewTLS(tlsCfg)))
	hs := health.NewServer()
	hs.SetServingStatus("plugin", healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(s, hs)
	pb.RegisterVariantServer(s, &variantServer{})

	// The handshake: one line, flushed; nothing on stdout afterwards.
	fmt.Printf("1|1|tcp|%s|grpc|%s\n", lis.Addr(), base64.RawStdEncoding.EncodeToString(der))
	os.Stdout.Sync()
	os.Stdout = os.Stderr
	check(s.Serve(lis))
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "foreignplugin:", err)
		os.Exit(1)
	}
}

type variantServer struct {
	pb.UnimplementedVariantServer // Sample and Reconstruct answer UNIMPLEMENTED
}

func (variantServer) Describe(context.Context, *pb.DescribeRequest) (*pb.DescribeResponse, error) {
	lo, hi := 0.0, 1.0
	return &pb.DescribeResponse{
		Name: "foreign", Version: "0.0.1", Doc: "The protocol implemented from aexp.proto alone.",
		Params: []*pb.Param{{
			Name: "lr", Type: "float", Min: &lo, Max: &hi, Doc: "decay rate",
			Default: &pb.Value{Kind: &pb.Value_Float{Float: 0.5}},
		}},
	}, nil
}

func (variantServer) Train(req *pb.TrainRequest, stream pb.Variant_TrainServer) error {
	lr := 0.5
	for k, v := range req.GetParams() {
		if k != "lr" {
			return status.Errorf(codes.InvalidArgument, "parameter %q: unknown parameter", k)
		}
		switch x := v.GetKind().(type) {
		case *pb.Value_Float:
			lr = x.Float
		case *pb.Value_Int:
			lr = float64(x.Int)
		default:
			return status.Errorf(codes.InvalidArgument, "parameter %q: want float", k)
		}
	}
	loss := 1.0
	for e := int32(1); e <= req.GetEpochs(); e++ {
		if err := stream.Context().Err(); err != nil {
			return status.FromContextError(err).Err()
		}
		loss *= math.Exp(-lr)
		if err := stream.Send(&pb.TrainEvent{Event: &pb.TrainEvent_Epoch{Epoch: &pb.EpochReport{
			Epoch: e, Metrics: map[string]float64{"train_loss": loss, "val_loss": loss},
		}}}); err != nil {
			return err
		}
	}
	// A 3 MiB artifact in three chunks of at most 1 MiB.
	data := make([]byte, 3<<20)
	for i := range data {
		data[i] = byte(i % 251)
	}
	for off := 0; off < len(data); off += 1 << 20 {
		c := &pb.ArtifactChunk{Data: data[off : off+1<<20], Last: off+1<<20 == len(data)}
		if off == 0 {
			c.Header = &pb.ArtifactHeader{Kind: "checkpoint", Name: "blob.bin", Epoch: req.GetEpochs(), Format: "raw", Size: int64(len(data))}
		}
		if err := stream.Send(&pb.TrainEvent{Event: &pb.TrainEvent_Artifact{Artifact: c}}); err != nil {
			return err
		}
	}
	if lr == 1 {
		return stream.Send(&pb.TrainEvent{Event: &pb.TrainEvent_Diverged{Diverged: &pb.Diverged{Epoch: 1, Reason: "lr 1 always diverges"}}})
	}
	return stream.Send(&pb.TrainEvent{Event: &pb.TrainEvent_Final{Final: &pb.FinalReport{
		Metrics: map[string]float64{"test_mse": loss, "pca_mse": 1},
	}}})
}
