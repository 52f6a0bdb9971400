// Command binsize builds hostfx's examples and a plain fx + zap hello, all
// stripped (-ldflags='-s -w'), and prints their sizes and the ratio of
// each example to the hello.
//
//	cd bench && go run ./cmd/binsize [-packages N]
//
// The last line is machine-readable: "binsize: config_vs_fxhello=<ratio>
// hello_vs_fxhello=<ratio>". With -packages N it also builds the programs
// unstripped and lists the N packages whose code and data grew most from
// the fx + zap hello to examples/hello, and from there to examples/config,
// from the symbol sizes of go tool nm.
package main

import (
	"bufio"
	"bytes"
	"cmp"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// goal is the largest ratio of examples/config to the fx + zap hello.
const goal = 1.3

// program is one binary to build: a package path in a module directory.
type program struct {
	name string
	dir  string // the module's directory
	pkg  string
}

func main() {
	top := flag.Int("packages", 0, "also list the `N` packages that grew most from one program to the next")
	flag.Parse()
	if err := run(*top); err != nil {
		fmt.Fprintln(os.Stderr, "binsize:", err)
		os.Exit(1)
	}
}

func run(top int) error {
	bench, err := moduleDir()
	if err != nil {
		return err
	}
	root := filepath.Dir(bench)
	out, err := os.MkdirTemp("", "binsize")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(out) }()

	base := program{name: "fxhello", dir: bench, pkg: "./cmd/binsize/fxhello"}
	hello := program{name: "hello", dir: root, pkg: "./examples/hello"}
	config := program{name: "config", dir: root, pkg: "./examples/config"}
	progs := []program{base, hello, config}
	sizes := map[string]int64{}
	for _, p := range progs {
		bin, err := build(p, out, "-s -w")
		if err != nil {
			return err
		}
		fi, err := os.Stat(bin)
		if err != nil {
			return err
		}
		sizes[p.name] = fi.Size()
		fmt.Printf("%-7s %-22s %11s bytes  %5.2f MB  %4.2fx\n", p.name, p.pkg, group(fi.Size()), float64(fi.Size())/1e6,
			float64(fi.Size())/float64(sizes[base.name]))
	}
	ratio := func(name string) float64 { return float64(sizes[name]) / float64(sizes[base.name]) }
	limit := int64(goal * float64(sizes[base.name]))
	verdict := fmt.Sprintf("met, %s bytes to spare", group(limit-sizes[config.name]))
	if sizes[config.name] > limit {
		verdict = fmt.Sprintf("missed by %s bytes", group(sizes[config.name]-limit))
	}
	fmt.Printf("goal: examples/config at most %.2f× the fx + zap hello (%s bytes): %s\n", goal, group(limit), verdict)
	if top > 0 {
		for _, pair := range [][2]program{{base, hello}, {hello, config}} {
			if err := growth(pair[0], pair[1], out, top); err != nil {
				return err
			}
		}
	}
	fmt.Printf("binsize: config_vs_fxhello=%.2f hello_vs_fxhello=%.2f\n", ratio("config"), ratio("hello"))
	return nil
}

// moduleDir is the directory of the bench module.
func moduleDir() (string, error) {
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	dir := filepath.Dir(strings.TrimSpace(string(gomod)))
	if filepath.Base(dir) != "bench" {
		return "", fmt.Errorf("run me in the bench module (cd bench), not in %s", dir)
	}
	return dir, nil
}

// build builds p with ldflags into dir and returns the binary's path.
func build(p program, dir, ldflags string) (string, error) {
	bin := filepath.Join(dir, p.name)
	if ldflags == "" {
		bin += ".full"
	}
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags="+ldflags, "-o", bin, p.pkg)
	cmd.Dir = p.dir
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build %s: %w", p.pkg, err)
	}
	return bin, nil
}

// growth lists the packages whose symbols grew most from base to p.
func growth(base, p program, dir string, top int) error {
	var per [2]map[string]int64
	for i, q := range []program{base, p} {
		bin, err := build(q, dir, "")
		if err != nil {
			return err
		}
		if per[i], err = packageSizes(bin); err != nil {
			return err
		}
	}
	type row struct {
		pkg  string
		grew int64
	}
	var rows []row
	var total int64
	for pkg, n := range per[1] {
		if d := n - per[0][pkg]; d > 0 {
			rows = append(rows, row{pkg, d})
			total += d
		}
	}
	slices.SortFunc(rows, func(a, b row) int { return cmp.Compare(b.grew, a.grew) })
	fmt.Printf("symbols %s has beyond %s: %s bytes in all (unstripped); the packages that grew most:\n", p.pkg, base.pkg, group(total))
	for _, r := range rows[:min(top, len(rows))] {
		fmt.Printf("  %11s  %s\n", group(r.grew), r.pkg)
	}
	return nil
}

// packageSizes sums the sizes of a binary's symbols by package.
func packageSizes(bin string) (map[string]int64, error) {
	out, err := exec.Command("go", "tool", "nm", "-size", bin).Output()
	if err != nil {
		return nil, fmt.Errorf("go tool nm %s: %w", bin, err)
	}
	sizes := map[string]int64{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		// address size type name
		f := strings.Fields(sc.Text())
		if len(f) < 4 {
			continue
		}
		n, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			continue
		}
		sizes[packageOf(strings.Join(f[3:], " "))] += n
	}
	return sizes, sc.Err()
}

// packageOf is the package a symbol belongs to: its name up to the first
// dot after the last slash, with type instantiations and go:/type: prefixes
// put in groups of their own.
func packageOf(sym string) string {
	for _, p := range []string{"go:", "type:", "runtime.", "$f64", "$f32"} {
		if strings.HasPrefix(sym, p) {
			return strings.TrimSuffix(p, ".")
		}
	}
	if i := strings.IndexByte(sym, '['); i >= 0 {
		sym = sym[:i]
	}
	slash := strings.LastIndexByte(sym, '/')
	if i := strings.IndexByte(sym[slash+1:], '.'); i >= 0 {
		return sym[:slash+1+i]
	}
	return sym
}

// group writes n with thousands separated by commas.
func group(n int64) string {
	s := strconv.FormatInt(n, 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
