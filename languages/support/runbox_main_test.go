// runbox's TestMain for go test, added to the test build (as zz_runbox_main_test.go, in the
// test files' package) unless a test file has its own. After the tests it writes the
// framework's own verdict, {"event": "done", "code": N}, to the report channel (the fd that
// RUNBOX_REPORT_FD names; see src/job/inproc.c), which the student's output cannot reach: a
// binary that ends early (os.Exit in init or in a test) never writes it, and failures hidden
// by forged "--- PASS" lines still show as a code that is not 0.
package main

import (
	"fmt"
	"os"
	"strconv"
	"testing"
)

func TestMain(m *testing.M) {
	var ch *os.File
	if fd, err := strconv.Atoi(os.Getenv("RUNBOX_REPORT_FD")); err == nil {
		ch = os.NewFile(uintptr(fd), "runbox-report")
	}
	code := m.Run()
	if ch != nil {
		fmt.Fprintf(ch, "{\"event\": \"done\", \"code\": %d}\n", code)
	}
	os.Exit(code)
}
