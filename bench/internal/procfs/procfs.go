// Package procfs reads the memory figures of processes from /proc.
package procfs

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
)

// Status reads a field in KiB, such as VmRSS or VmHWM, from the status of
// process pid, or of this process for pid 0.
func Status(pid int, field string) (int64, error) {
	return read(path(pid, "status"), field)
}

// Pss reads the proportional set size of process pid in KiB: its resident
// pages, each shared page divided by the number of processes sharing it,
// so that it adds up over processes running the same binary.
func Pss(pid int) (int64, error) {
	return read(path(pid, "smaps_rollup"), "Pss")
}

func path(pid int, file string) string {
	if pid > 0 {
		return fmt.Sprintf("/proc/%d/%s", pid, file)
	}
	return "/proc/self/" + file
}

func read(path, field string) (int64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		name, value, ok := bytes.Cut(sc.Bytes(), []byte(":"))
		if !ok || string(name) != field {
			continue
		}
		f := bytes.Fields(value) // "1234", "kB"
		if len(f) == 0 {
			break
		}
		return strconv.ParseInt(string(f[0]), 10, 64)
	}
	return 0, fmt.Errorf("%s: no %s", path, field)
}

// MinorFaults reads how many minor page faults process pid has taken: a
// fresh process takes one for each page of its binary and heap it touches.
func MinorFaults(pid int) (int64, error) {
	data, err := os.ReadFile(path(pid, "stat"))
	if err != nil {
		return 0, err
	}
	// The command name, in parentheses, may hold spaces: count fields
	// after its closing parenthesis; minflt is the 10th field in all.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, fmt.Errorf("%s: no command name", path(pid, "stat"))
	}
	f := bytes.Fields(data[i+1:])
	if len(f) < 8 {
		return 0, fmt.Errorf("%s: %d fields", path(pid, "stat"), len(f)+2)
	}
	return strconv.ParseInt(string(f[7]), 10, 64)
}

// Children lists the live child processes of process pid.
func Children(pid int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []int
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(path(child, "stat"))
		if err != nil {
			continue
		}
		// After the command name, in parentheses: the state, then the
		// parent's PID.
		f := bytes.Fields(stat[bytes.LastIndexByte(stat, ')')+1:])
		if len(f) > 1 && string(f[0]) != "Z" && string(f[1]) == strconv.Itoa(pid) {
			out = append(out, child)
		}
	}
	return out
}
