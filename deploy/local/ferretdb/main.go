// Command ferretdb runs FerretDB v1 embedded, with its SQLite backend, on a loopback address.
//
// We wrap the embeddable package instead of `go install`ing FerretDB's own command because that
// command panics at start when built outside FerretDB's repository (FerretDB issue #2982: it
// requires a generated version file); as a dependency of this module its version check is skipped.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net/http"
	_ "net/http/pprof" // served only when --pprof-addr is set: a CPU profile of the store under load
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listen := flag.String("listen-addr", "127.0.0.1:27017", "TCP address to listen on")
	dataDir := flag.String("data-dir", "data", "directory holding one SQLite file per database")
	pprofAddr := flag.String("pprof-addr", os.Getenv("FERRETDB_PPROF_ADDR"),
		"loopback address for Go's /debug/pprof (off when empty)")
	pragmas := flag.String("sqlite-query", os.Getenv("FERRETDB_SQLITE_QUERY"),
		"query string added to the SQLite URL, e.g. _pragma=synchronous(normal)")
	flag.Parse()

	dir, err := filepath.Abs(*dataDir)
	if err != nil {
		log.Fatalf("ferretdb: bad --data-dir %q: %v", *dataDir, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		log.Fatalf("ferretdb: cannot create data dir %s: %v", dir, err)
	}

	removeEmptyDatabases(context.Background(), dir)

	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: *listen},
		Handler:   "sqlite",
		SQLiteURL: sqliteURL(dir, *pragmas),
	})
	if err != nil {
		log.Fatalf("ferretdb: %v", err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	go keepIDIndexes(ctx, dir, time.Second)
	if *pprofAddr != "" {
		go func() { log.Printf("ferretdb: pprof: %v", http.ListenAndServe(*pprofAddr, nil)) }()
	}

	fmt.Fprintf(os.Stderr, "ferretdb: listening on %s, data in %s\n", *listen, dir)
	f.Run(ctx)
	fmt.Fprintln(os.Stderr, "ferretdb: stopped")
}

func sqliteURL(dir, query string) string {
	if query == "" {
		return "file:" + dir + "/"
	}
	return "file:" + dir + "/?" + query
}
