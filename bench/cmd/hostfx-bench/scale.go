package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"go.uber.org/fx"

	"github.com/hostfx/hostfx/app"
	"github.com/hostfx/hostfx/bench/internal/catalog"
	"github.com/hostfx/hostfx/bench/internal/harness"
	"github.com/hostfx/hostfx/bench/internal/procfs"
	"github.com/hostfx/hostfx/modes"
)

// The scale benchmark runs each app in a fresh worker process, this binary
// again, so its memory is measured from a clean start.
const roleScale = "scale:"

type scaleResult struct {
	Kind                      string
	N                         int
	Build, Start, Stop        time.Duration // option building and app.New; Start; Stop
	BaseKB, PeakKB, RunningKB int64         // VmRSS before, VmHWM after the stop, VmRSS while running
	ChildrenKB                int64         // sum of the children's VmHWM while running
	ChildrenPssKB             int64         // sum of the children's Pss while running
	Children                  int
}

// perService is the peak memory the services added, per service.
func (r scaleResult) perService() float64 {
	return float64(r.PeakKB-r.BaseKB+r.ChildrenKB) / float64(r.N)
}

func (r scaleResult) total() time.Duration { return r.Build + r.Start + r.Stop }

// scalePrefix starts the names of the scale benchmark's services.
const scalePrefix = "scale"

// scaleApp is n services of the catalog in mode.
func scaleApp(mode modes.ExecutionMode, n int) fx.Option {
	services := catalog.Services(scalePrefix, n, mode)
	if mode.Process() {
		return fx.Options(app.ChildArgs(scaleAppName, strconv.Itoa(n)), services)
	}
	return services
}

var scaleKinds = map[string]modes.ExecutionMode{
	"loop":   modes.MainEventLoopAsync,
	"thread": modes.SeparateThread,
	"proc":   modes.SeparateProcess,
}

// workerProfileEnv makes each scale worker write a CPU profile to its value
// with "-KIND-N" appended.
const workerProfileEnv = "HOSTFX_BENCH_WORKER_CPUPROFILE"

func runScaleWorker(spec string) int {
	if prefix := os.Getenv(workerProfileEnv); prefix != "" {
		_ = os.Unsetenv(workerProfileEnv)
		f, err := os.Create(prefix + "-" + strings.ReplaceAll(spec, ":", "-"))
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "scale worker: profile:", err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}
	res, err := scaleWorker(spec)
	if err != nil {
		fmt.Fprintln(os.Stderr, "scale worker:", err)
		return 1
	}
	if err := json.NewEncoder(os.Stdout).Encode(res); err != nil {
		return 1
	}
	return 0
}

func scaleWorker(spec string) (scaleResult, error) {
	kindName, nText, _ := strings.Cut(spec, ":")
	mode, ok := scaleKinds[kindName]
	n, err := strconv.Atoi(nText)
	if !ok || err != nil {
		return scaleResult{}, fmt.Errorf("bad spec %q", spec)
	}
	res := scaleResult{Kind: kindName, N: n}
	runtime.GC()
	if res.BaseKB, err = procfs.Status(0, "VmRSS"); err != nil {
		return res, err
	}

	begin := time.Now()
	a := app.New(quiet(), scaleApp(mode, n))
	if err := a.Err(); err != nil {
		return res, err
	}
	built := time.Now()
	if err := a.Start(context.Background()); err != nil {
		return res, err
	}
	started := time.Now()
	res.RunningKB, _ = procfs.Status(0, "VmRSS")
	self := os.Getpid()
	var errs []error
	for _, s := range a.Status() {
		if s.PID != self && s.PID > 0 {
			kb, err := procfs.Status(s.PID, "VmHWM")
			pss, err2 := procfs.Pss(s.PID)
			errs = append(errs, err, err2)
			res.ChildrenKB += kb
			res.ChildrenPssKB += pss
			res.Children++
		}
	}
	stopBegin := time.Now()
	errs = append(errs, a.Stop(context.Background()))
	res.Build, res.Start, res.Stop = built.Sub(begin), started.Sub(built), time.Since(stopBegin)
	res.PeakKB, err = procfs.Status(0, "VmHWM")
	return res, errors.Join(append(errs, err)...)
}

// scaleRun runs one worker.
func scaleRun(kind string, n int) (scaleResult, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, self)
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s%s:%d", roleEnv, roleScale, kind, n))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, os.Stderr
	if err := cmd.Run(); err != nil {
		return scaleResult{}, fmt.Errorf("scale %s %d: %w", kind, n, err)
	}
	var res scaleResult
	return res, json.Unmarshal(out.Bytes(), &res)
}

// scaleMedian runs a worker times times and keeps the run of median total
// time.
func scaleMedian(kind string, n, times int) (scaleResult, error) {
	var runs []scaleResult
	for range times {
		r, err := scaleRun(kind, n)
		if err != nil {
			return r, err
		}
		runs = append(runs, r)
	}
	totals := make([]time.Duration, len(runs))
	for i, r := range runs {
		totals[i] = r.total()
	}
	m := harness.Median(totals)
	best := runs[0]
	for _, r := range runs {
		if absDur(r.total()-m) < absDur(best.total()-m) {
			best = r
		}
	}
	return best, nil
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

type scaleLine struct {
	small, big scaleResult
}

func benchScale(p harness.Plan, rep *report, sizes map[string]int) error {
	times := max(1, p.Samples/5)
	var lines []scaleLine
	for _, kind := range []string{"loop", "thread", "proc"} {
		n := sizes[kind]
		small, err := scaleMedian(kind, max(n/10, 1), times)
		if err != nil {
			return err
		}
		big, err := scaleMedian(kind, n, times)
		if err != nil {
			return err
		}
		lines = append(lines, scaleLine{small, big})
		timeGrowth := (float64(big.total()) / float64(big.N)) / (float64(small.total()) / float64(small.N))
		rssGrowth := big.perService() / small.perService()
		rep.set(fmt.Sprintf("scale_%s_%d_us_per_service", kind, n), fmt.Sprintf("%.1f", float64(big.total())/float64(big.N)/1e3))
		rep.set(fmt.Sprintf("scale_%s_%d_kib_per_service", kind, n), fmt.Sprintf("%.1f", big.perService()))
		rep.set(fmt.Sprintf("scale_%s_time_growth", kind), fmt.Sprintf("%.2f", timeGrowth))
		rep.set(fmt.Sprintf("scale_%s_rss_growth", kind), fmt.Sprintf("%.2f", rssGrowth))
	}
	rep.scale = lines
	return nil
}
