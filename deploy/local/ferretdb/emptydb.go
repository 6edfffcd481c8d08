package main

import (
	"context"
	"database/sql"
	"log"
	"os"
	"path/filepath"
)

// removeEmptyDatabases deletes database files that hold no table at all, before FerretDB opens them.
//
// FerretDB creates a database's SQLite file first and its `_ferretdb_collections` table after; a store
// stopped between the two (found after a test run was cut off while a test database was being created)
// leaves a file without that table, and FerretDB then refuses to start at all ("no such table:
// _ferretdb_collections"). Such a file holds no collection and so no document: removing it loses nothing.
// A file that has any table is left alone, whatever state it is in.
func removeEmptyDatabases(ctx context.Context, dir string) {
	files, _ := filepath.Glob(filepath.Join(dir, "*.sqlite"))
	for _, file := range files {
		empty, err := hasNoTables(ctx, file)
		if err != nil {
			log.Printf("ferretdb: cannot inspect %s: %v", filepath.Base(file), err)
			continue
		}
		if !empty {
			continue
		}
		for _, f := range []string{file, file + "-wal", file + "-shm"} {
			if err := os.Remove(f); err != nil && !os.IsNotExist(err) {
				log.Printf("ferretdb: cannot remove %s: %v", filepath.Base(f), err)
			}
		}
		log.Printf("ferretdb: removed %s: a database file without any table (its creation was cut off)",
			filepath.Base(file))
	}
}

func hasNoTables(ctx context.Context, file string) (bool, error) {
	db, err := sql.Open("sqlite", "file:"+file+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return false, err
	}
	defer db.Close()
	var tables int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table'`).Scan(&tables); err != nil {
		return false, err
	}
	return tables == 0, nil
}
