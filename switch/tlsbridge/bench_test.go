package tlsbridge

import (
	"context"
	"crypto/tls"
	"github.com/fxswitch/fxswitch/switch/tlsbridge/tlstest"
	"io"
	"net"
	"testing"
	"time"
)

// BenchmarkRoundTrip: one 200-byte message (a CARDNET 0200 is about that)
// through both bridges (client plain → TLS → server plain → echo and back),
// against the same echo over plain TCP for comparison.
func BenchmarkRoundTrip(b *testing.B) {
	ca := tlstest.New(b, "ca")
	cert, key := ca.Valid(b, "fxd", true)
	msg := make([]byte, 200)
	run := func(b *testing.B, c net.Conn) {
		buf := make([]byte, len(msg))
		b.SetBytes(int64(len(msg)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.Write(msg); err != nil {
				b.Fatal(err)
			}
			if _, err := io.ReadFull(c, buf); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("bridge", func(b *testing.B) {
		s, err := NewServer(ServerConfig{CertFile: cert, KeyFile: key})
		if err != nil {
			b.Fatal(err)
		}
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		go func() { _ = s.Accept(ln, echo) }()
		defer s.Close()
		c, err := DialTLS(context.Background(), ln.Addr().String(), ClientConfig{CAFile: ca.CAFile})
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(time.Minute))
		run(b, c)
	})
	b.Run("tls-direct", func(b *testing.B) {
		pair, _ := tls.LoadX509KeyPair(cert, key)
		ln, _ := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{pair}})
		defer ln.Close()
		go func() {
			c, err := ln.Accept()
			if err == nil {
				_, _ = io.Copy(c, c)
				c.Close()
			}
		}()
		c, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{RootCAs: ca.Pool()})
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		run(b, c)
	})
	b.Run("tcp", func(b *testing.B) {
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		defer ln.Close()
		go func() {
			c, err := ln.Accept()
			if err == nil {
				_, _ = io.Copy(c, c)
				c.Close()
			}
		}()
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		run(b, c)
	})
}
