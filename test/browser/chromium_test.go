package browser

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// patience bounds each wait of these tests: generous, for a loaded
// machine. Nothing is asserted about how long anything takes.
const patience = 2 * time.Minute

// chromium finds Debian's chromium, which .ci/install-chromium installs.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	t.Fatal("no chromium on PATH: install it with .ci/install-chromium (as root), " +
		"or apt-get install --no-install-recommends chromium")
	return ""
}

// syncBuffer collects the browser's output, which chromedp writes from a
// goroutine of its own.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// browser starts a headless chromium with a profile of the test's own and
// returns the context of its first tab. When the test ends, it closes the
// browser, and fails the test if any of its processes outlives it; the
// browser's output is logged when the test failed.
func browser(t *testing.T) context.Context {
	t.Helper()
	profile := t.TempDir() // removed after the browser has closed: cleanups run last first
	var output syncBuffer
	base, cancelBase := context.WithTimeout(context.Background(), 2*patience)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 720),
		chromedp.Flag("disable-gpu", true),
		chromedp.CombinedOutput(&output),
	)
	// chromedp adds --no-sandbox itself when it runs as root, as in CI.
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(base, opts...)
	ctx, cancel := chromedp.NewContext(allocCtx, chromedp.WithErrorf(t.Logf))
	t.Cleanup(func() {
		if err := chromedp.Cancel(ctx); err != nil { // closes the browser gracefully and waits for it
			t.Errorf("close the browser: %v", err)
		}
		cancel()
		cancelAlloc() // waits for the browser's process
		cancelBase()
		require.Eventually(t, func() bool { return len(processesWith(profile)) == 0 }, patience, 50*time.Millisecond,
			"browser processes outlive the test")
		if t.Failed() {
			t.Logf("the browser's output:\n%s", output.String())
		}
	})
	require.NoError(t, chromedp.Do(ctx), "start %s", chromium(t)) // no action: starts the browser
	require.NotNil(t, chromedp.FromContext(ctx).Browser.Process())
	require.NotEmpty(t, processesWith(profile), "the browser's processes, found by their profile, as the cleanup looks for them")
	return ctx
}

// processesWith returns the processes that run with profile as their user
// data directory: chromium passes it to each of its processes. A process
// that has ended (a zombie the container's init has not reaped) has an
// empty command line.
func processesWith(profile string) []int {
	want := []byte("--user-data-dir=" + profile + "\x00")
	paths, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	var pids []int
	for _, p := range paths {
		cmdline, err := os.ReadFile(p)
		if err != nil || !bytes.Contains(cmdline, want) {
			continue
		}
		if pid, err := strconv.Atoi(filepath.Base(filepath.Dir(p))); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}
