// Command hostfx-bench measures hostfx against raw Go and its peers, each
// pair in the same run, and prints a table of the ratios with their goals.
//
//	cd bench && go run ./cmd/hostfx-bench [-quick] [-only REGEXP] [-cpuprofile FILE]
//
// The last line is machine-readable: "ratios: name=value ...". The binary
// re-executes itself as every child it measures, so main first finds out
// whether it is one. go-plugin is measured by its own binary,
// cmd/goplugin-peer, which this command builds and runs.
package main

import (
	"flag"
	"fmt"
	"os"
	"regexp"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/hostfx/hostfx/app"
	"github.com/hostfx/hostfx/bench/internal/harness"
)

var (
	verbose   = os.Getenv(verboseEnv) != ""
	nopLogger = zap.NewNop()
)

func main() {
	// Children first, before flags: a hostfx child gets the parent's
	// arguments, and must build the same app whatever they say.
	if service, ok := app.InChild(); ok {
		runHostfxChild(service)
		os.Exit(0)
	}
	if role := os.Getenv(roleEnv); role != "" {
		_ = os.Unsetenv(roleEnv) // not for this worker's own children
		os.Exit(runRole(role))
	}

	quick := flag.Bool("quick", false, "fewer and shorter samples, one run of each scale: well under a minute")
	only := flag.String("only", "", "run only the benchmarks whose name matches this regexp")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of this process to `file`, and of each scale worker to file-KIND-N")
	flag.BoolVar(&verbose, "v", verbose, "let the apps, their children and go-plugin log to stderr")
	flag.Parse()
	if verbose {
		_ = os.Setenv(verboseEnv, "1") // the children log too
	}
	filter, err := regexp.Compile(*only)
	if err != nil {
		fmt.Fprintln(os.Stderr, "-only:", err)
		os.Exit(2)
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "-cpuprofile:", err)
			os.Exit(2)
		}
		defer pprof.StopCPUProfile()
		_ = os.Setenv(workerProfileEnv, *cpuprofile) // scale workers profile themselves too
	}

	// The app package locks the main goroutine to the main thread, which
	// would make every wait of the benchmarks cost a thread hand-off:
	// measure from an ordinary goroutine.
	code := make(chan int)
	go func() { code <- run(*quick, filter) }()
	if c := <-code; c != 0 {
		pprof.StopCPUProfile()
		os.Exit(c)
	}
}

// benchmark is one group of rows.
type benchmark struct {
	name string
	plan harness.Plan
	run  func(harness.Plan, *report) error
}

func run(quick bool, filter *regexp.Regexp) int {
	// fast is for operations of microseconds, slow for those of milliseconds.
	fast := harness.Plan{Samples: 15, Target: 200 * time.Millisecond, MaxN: 1 << 24}
	slow := harness.Plan{Samples: 15, Target: 500 * time.Millisecond, MaxN: 1000}
	if quick {
		fast = harness.Plan{Samples: 5, Target: 20 * time.Millisecond, MaxN: 1 << 24}
		slow = harness.Plan{Samples: 3, Target: 60 * time.Millisecond, MaxN: 100}
	}
	sizes := map[string]int{"loop": 10000, "thread": 1000, "proc": 100}
	benchmarks := []benchmark{
		{"loop_post", fast, benchLoopPost},
		{"loop_rtt", fast, benchLoopRTT},
		{"thread_startstop", fast, benchThread},
		{"app_1000", slow, benchApp1000},
		{"proc_spawn", slow, benchProcSpawn},
		{"proc_rtt", fast, benchProcRTT},
		{"child_rss", slow, benchChildRSS},
		{"goplugin", slow, benchGoPlugin},
		{"warm_restart", slow, benchWarmRestart},
		{"parallel_start", slow, benchParallelStart},
		{"restart_vs_suture", fast, benchRestart},
		{"call", slow, benchCall},
		{"gateway", harness.Plan{Samples: slow.Samples, Target: slow.Target, MaxN: fast.MaxN}, benchGateway},
		{"scale", slow, func(p harness.Plan, r *report) error { return benchScale(p, r, sizes) }},
	}

	fmt.Printf("hostfx-bench: %s/%s, %d CPUs, GOMAXPROCS %d, %s%s\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(),
		runtime.GOMAXPROCS(0), runtime.Version(), map[bool]string{true: ", -quick", false: ""}[quick])
	rep := newReport()
	failed := false
	begin := time.Now()
	for _, b := range benchmarks {
		if !filter.MatchString(b.name) {
			continue
		}
		t := time.Now()
		fmt.Fprintf(os.Stderr, "%-18s ", b.name)
		if err := b.run(b.plan, rep); err != nil {
			fmt.Fprintf(os.Stderr, "FAILED: %v\n", err)
			rep.add(row{name: b.name, ratio: nan, why: "failed: " + oneLine(err)})
			failed = true
			continue
		}
		fmt.Fprintf(os.Stderr, "%s\n", time.Since(t).Round(time.Millisecond))
	}
	fmt.Fprintf(os.Stderr, "all done in %s\n\n", time.Since(begin).Round(time.Second))
	if err := rep.write(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "hostfx-bench: writing the report:", err)
		return 1
	}
	if failed {
		return 1
	}
	return 0
}

func oneLine(err error) string { return strings.ReplaceAll(err.Error(), "\n", "; ") }
