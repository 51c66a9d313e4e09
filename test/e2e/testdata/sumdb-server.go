// A checksum database for end-to-end tests, built from Go's own sumdb server and
// note-signing packages (Debian golang-golang-x-mod-dev). It signs a fresh key, serves
// /latest, /lookup and /tile over TLS on 127.0.0.1:0, and computes each module's go.sum
// lines from the zip and go.mod files the test wrote into -data.
//
// Usage: sumdb-server -name NAME -cert CERT -key KEY -data DIR [-tamper]
// It prints "VKEY <verifier key>" and "PORT <port>" on stdout, then serves until killed.
package main

import (
	"bytes"
	"crypto/rand"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/mod/module"
	"golang.org/x/mod/sumdb"
	"golang.org/x/mod/sumdb/dirhash"
	"golang.org/x/mod/sumdb/note"
)

// gosum returns the two go.sum lines of path@vers from DIR/<escaped path>@<vers>.{zip,mod}.
func gosum(dir string, tamper bool) func(path, vers string) ([]byte, error) {
	return func(path, vers string) ([]byte, error) {
		esc, err := module.EscapePath(path)
		if err != nil {
			return nil, err
		}
		base := filepath.Join(dir, strings.ReplaceAll(esc, "/", "_")+"@"+vers)
		zipHash, err := dirhash.HashZip(base+".zip", dirhash.Hash1)
		if err != nil {
			return nil, fmt.Errorf("%s@%s: %w", path, vers, os.ErrNotExist)
		}
		mod, err := os.ReadFile(base + ".mod")
		if err != nil {
			return nil, err
		}
		if tamper {
			mod = append(mod, []byte("// tampered\n")...)
		}
		modHash, err := dirhash.Hash1([]string{"go.mod"}, func(string) (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(mod)), nil
		})
		if err != nil {
			return nil, err
		}
		return []byte(fmt.Sprintf("%s %s %s\n%s %s/go.mod %s\n", path, vers, zipHash, path, vers, modHash)), nil
	}
}

func main() {
	name := flag.String("name", "", "checksum database name")
	cert := flag.String("cert", "", "TLS certificate (PEM)")
	key := flag.String("key", "", "TLS key (PEM)")
	data := flag.String("data", "", "directory of module zips and go.mod files")
	tamper := flag.Bool("tamper", false, "sign wrong go.mod hashes")
	flag.Parse()
	skey, vkey, err := note.GenerateKey(rand.Reader, *name)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("VKEY %s\nPORT %d\n", vkey, ln.Addr().(*net.TCPAddr).Port)
	srv := sumdb.NewServer(sumdb.NewTestServer(skey, gosum(*data, *tamper)))
	fmt.Fprintln(os.Stderr, http.ServeTLS(ln, srv, *cert, *key))
	os.Exit(1)
}
