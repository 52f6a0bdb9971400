package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Size is a number of bytes. It binds from a bare number of bytes or a
// number with a unit: "64KiB", "1.5 GiB", "10MB". KB, MB, GB, TB are
// powers of 1000 and KiB, MiB, GiB, TiB powers of 1024, as their
// standards define them; units ignore case.
type Size int64

// Byte sizes.
const (
	Byte Size = 1
	KB   Size = 1000 * Byte
	MB   Size = 1000 * KB
	GB   Size = 1000 * MB
	TB   Size = 1000 * GB
	KiB  Size = 1024 * Byte
	MiB  Size = 1024 * KiB
	GiB  Size = 1024 * MiB
	TiB  Size = 1024 * GiB
)

var sizeUnits = []struct {
	name string
	size Size
}{
	// Largest first, binary before decimal: String picks the first that
	// divides evenly.
	{"TiB", TiB}, {"TB", TB}, {"GiB", GiB}, {"GB", GB},
	{"MiB", MiB}, {"MB", MB}, {"KiB", KiB}, {"KB", KB}, {"B", Byte},
}

const wantSize = "want a byte size such as 512KiB or 10MB"

// sizeError is the error ParseSize returns: its text says what was given
// and what would be accepted, so configuration shows it as it is.
type sizeError struct {
	text, want string
}

func (e *sizeError) Error() string { return fmt.Sprintf("size %q: %s", e.text, e.want) }

// ParseSize reads a size such as "64KiB" or "10MB".
func ParseSize(s string) (Size, error) {
	t := strings.TrimSpace(s)
	i := strings.IndexFunc(t, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	if i < 0 {
		i = len(t)
	}
	num, unit := t[:i], strings.TrimSpace(t[i:])
	mult := Byte
	if unit != "" {
		mult = 0
		for _, u := range sizeUnits {
			if strings.EqualFold(unit, u.name) {
				mult = u.size
			}
		}
	}
	if num == "" || mult == 0 {
		return 0, &sizeError{s, wantSize}
	}
	tooBig := &sizeError{s, fmt.Sprintf("want at most %v", Size(math.MaxInt64))}
	if !strings.Contains(num, ".") {
		// Whole numbers stay integers, so large sizes are exact.
		n, err := strconv.ParseInt(num, 10, 64)
		if err != nil || n > math.MaxInt64/int64(mult) {
			return 0, tooBig
		}
		return Size(n) * mult, nil
	}
	n, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, &sizeError{s, wantSize}
	}
	bytes := n * float64(mult)
	if bytes != math.Trunc(bytes) {
		return 0, &sizeError{s, "want a whole number of bytes"}
	}
	if bytes >= math.MaxInt64 {
		return 0, tooBig
	}
	return Size(bytes), nil
}

// String writes the size in the largest unit that divides it evenly, such
// as "64KiB" or "10MB".
func (s Size) String() string {
	if s != 0 {
		for _, u := range sizeUnits {
			if s%u.size == 0 {
				return strconv.FormatInt(int64(s/u.size), 10) + u.name
			}
		}
	}
	return strconv.FormatInt(int64(s), 10) + "B"
}

// MarshalText implements encoding.TextMarshaler.
func (s Size) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler, which is how
// configuration binds sizes.
func (s *Size) UnmarshalText(text []byte) error {
	v, err := ParseSize(string(text))
	if err != nil {
		return err
	}
	*s = v
	return nil
}
