package systemd

import (
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"strconv"
	"time"
)

// The variables systemd sets for a service.
const (
	envSocket        = "NOTIFY_SOCKET"
	envWatchdogUsec  = "WATCHDOG_USEC"
	envWatchdogPID   = "WATCHDOG_PID"
	messageReady     = "READY=1"
	messageStopping  = "STOPPING=1"
	messageWatchdog  = "WATCHDOG=1"
	maxWatchdogUsecs = math.MaxInt64 / int64(time.Microsecond) // the most a time.Duration holds
)

// unit is what systemd told this process through its environment.
type unit struct {
	socket   string        // "" when not run by systemd with Type=notify
	watchdog time.Duration // WatchdogSec, 0 when not set or not meant for this process
}

// fromEnv reads the unit's variables with getenv, for the process pid.
func fromEnv(getenv func(string) string, pid int) (unit, error) {
	u := unit{socket: getenv(envSocket)}
	if u.socket == "" {
		return unit{}, nil
	}
	usec := getenv(envWatchdogUsec)
	if usec == "" {
		return u, nil
	}
	n, err := strconv.ParseInt(usec, 10, 64)
	if err != nil || n <= 0 || n > maxWatchdogUsecs {
		return unit{}, fmt.Errorf("systemd: %s=%q: want a positive whole number of microseconds", envWatchdogUsec, usec)
	}
	if p := getenv(envWatchdogPID); p != "" {
		owner, err := strconv.Atoi(p)
		if err != nil || owner <= 0 {
			return unit{}, fmt.Errorf("systemd: %s=%q: want a process id", envWatchdogPID, p)
		}
		if owner != pid {
			return u, nil // the watchdog is another process's
		}
	}
	u.watchdog = time.Duration(n) * time.Microsecond
	return u, nil
}

// takeEnv reads the unit's variables and removes them from the
// environment, so that no process the app starts inherits them.
func takeEnv() (unit, error) {
	u, err := fromEnv(os.Getenv, os.Getpid())
	for _, name := range []string{envSocket, envWatchdogUsec, envWatchdogPID} {
		if uerr := os.Unsetenv(name); uerr != nil {
			err = errors.Join(err, fmt.Errorf("systemd: unset %s: %w", name, uerr))
		}
	}
	return u, err
}

// notify sends one message to the socket, as one datagram.
func notify(socket, message string) error {
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: socket, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("systemd: notify %s on %s: %w", message, socket, err)
	}
	_, err = conn.Write([]byte(message))
	if cerr := conn.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("systemd: notify %s on %s: %w", message, socket, err)
	}
	return nil
}
