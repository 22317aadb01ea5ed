// goecho: the Go crypto/tls echo server of bench/compare.sh.
//
//	goecho -listen 127.0.0.1:PORT -cert CERT -key KEY
//
// It is what a Go programmer would write: tls.Listen with the default
// configuration (TLS 1.3, session tickets on), one goroutine per
// connection, io.CopyBuffer back to the client. Go sets TCP_NODELAY on
// every TCP connection by default. Run it with GOMAXPROCS=1 for one core.
package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"time"
)

func echo(conn net.Conn) {
	defer conn.Close()
	buf := make([]byte, 16384)
	// An error ends the connection; the load generator counts it.
	_, _ = io.CopyBuffer(conn, conn, buf)
}

func main() {
	listen := flag.String("listen", "127.0.0.1:8443", "address to listen on")
	certFile := flag.String("cert", "", "certificate chain (PEM)")
	keyFile := flag.String("key", "", "private key (PEM)")
	flag.Parse()

	cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
	if err != nil {
		fmt.Fprintf(os.Stderr, "goecho: load %s and %s: %v\n", *certFile, *keyFile, err)
		os.Exit(3)
	}
	config := &tls.Config{Certificates: []tls.Certificate{cert}}
	ln, err := tls.Listen("tcp", *listen, config)
	if err != nil {
		fmt.Fprintf(os.Stderr, "goecho: listen on %s: %v\n", *listen, err)
		os.Exit(4)
	}
	for {
		conn, err := ln.Accept()
		if err != nil {
			// EMFILE and the like: pause instead of spinning,
			// and keep serving the others.
			time.Sleep(10 * time.Millisecond)
			continue
		}
		go echo(conn)
	}
}
