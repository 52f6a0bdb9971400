package config

import (
	"encoding"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/hostfx/hostfx/lifecycle"
	"github.com/hostfx/hostfx/modes"
)

// Decoding one value: text, durations, numbers and booleans, each with a
// reason that says what was wanted when the value is not one.

// text decodes through encoding.TextUnmarshaler, such as
// modes.ExecutionMode, Size or time.Time.
func (b *binder) text(key, src string, secret bool, raw any, v reflect.Value) {
	s, ok := toText(raw)
	if !ok {
		b.fail(key, src, secret, raw, wantSingle, nil)
		return
	}
	if err := v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s)); err != nil {
		reason := err.Error()
		if !saysWhatItWants(err) {
			reason = fmt.Sprintf("want a valid %v: %v", v.Type(), err)
		}
		b.fail(key, src, secret, raw, reason, err)
	}
}

// saysWhatItWants reports whether err comes from one of hostfx's own text
// types, whose errors already name the value and what would be accepted.
// Errors of other types, such as time.Time's, get the type they were
// decoding to and a "want" in front.
func saysWhatItWants(err error) bool {
	var se *sizeError
	return errors.As(err, &se) ||
		errors.Is(err, modes.ErrUnknownMode) ||
		errors.Is(err, lifecycle.ErrUnknownStrategy) ||
		errors.Is(err, lifecycle.ErrUnknownPolicy)
}

func (b *binder) duration(key, src string, secret bool, raw any, v reflect.Value) {
	if s, ok := raw.(string); ok {
		d, err := time.ParseDuration(strings.TrimSpace(s))
		if err != nil {
			b.fail(key, src, secret, raw, wantDuration, err)
			return
		}
		v.SetInt(int64(d))
		return
	}
	// A bare number has no unit; only zero means the same in every unit.
	if rv := reflect.ValueOf(raw); (rv.CanInt() || rv.CanUint() || rv.CanFloat()) && rv.IsZero() {
		v.SetInt(0)
		return
	}
	b.fail(key, src, secret, raw, wantDuration, nil)
}

func (b *binder) integer(key, src string, secret bool, raw any, v reflect.Value) {
	bits := v.Type().Bits()
	lo, hi := int64(-1)<<(bits-1), int64(1)<<(bits-1)-1
	outOfRange := fmt.Sprintf("want an integer from %d to %d", lo, hi)
	var n int64
	switch rv := reflect.ValueOf(raw); {
	case rv.CanInt():
		n = rv.Int()
	case rv.CanUint():
		if rv.Uint() > math.MaxInt64 {
			b.fail(key, src, secret, raw, outOfRange, nil)
			return
		}
		n = int64(rv.Uint())
	case rv.CanFloat():
		f := rv.Float()
		if f != math.Trunc(f) || math.IsInf(f, 0) {
			b.fail(key, src, secret, raw, wantInteger, nil)
			return
		}
		if f < math.MinInt64 || f >= math.MaxInt64 {
			b.fail(key, src, secret, raw, outOfRange, nil)
			return
		}
		n = int64(f)
	default:
		s, _ := toText(raw)
		s = strings.TrimSpace(s)
		var err error
		if n, err = strconv.ParseInt(s, intBase(s), 64); err != nil {
			reason := wantInteger
			if errors.Is(err, strconv.ErrRange) {
				reason = outOfRange
			}
			b.fail(key, src, secret, raw, reason, err)
			return
		}
	}
	if v.OverflowInt(n) {
		b.fail(key, src, secret, raw, outOfRange, nil)
		return
	}
	v.SetInt(n)
}

func (b *binder) unsigned(key, src string, secret bool, raw any, v reflect.Value) {
	hi := uint64(math.MaxUint64) >> (64 - v.Type().Bits())
	outOfRange := fmt.Sprintf("want a whole number from 0 to %d", hi)
	var n uint64
	switch rv := reflect.ValueOf(raw); {
	case rv.CanUint():
		n = rv.Uint()
	case rv.CanInt():
		if rv.Int() < 0 {
			b.fail(key, src, secret, raw, outOfRange, nil)
			return
		}
		n = uint64(rv.Int())
	case rv.CanFloat():
		f := rv.Float()
		if f != math.Trunc(f) || f < 0 || f >= math.MaxUint64 {
			b.fail(key, src, secret, raw, outOfRange, nil)
			return
		}
		n = uint64(f)
	default:
		s, _ := toText(raw)
		s = strings.TrimSpace(s)
		var err error
		if n, err = strconv.ParseUint(s, intBase(s), 64); err != nil {
			b.fail(key, src, secret, raw, outOfRange, err)
			return
		}
	}
	if v.OverflowUint(n) {
		b.fail(key, src, secret, raw, outOfRange, nil)
		return
	}
	v.SetUint(n)
}

func (b *binder) float(key, src string, secret bool, raw any, v reflect.Value) {
	var f float64
	switch rv := reflect.ValueOf(raw); {
	case rv.CanFloat():
		f = rv.Float()
	case rv.CanInt():
		f = float64(rv.Int())
	case rv.CanUint():
		f = float64(rv.Uint())
	default:
		s, _ := toText(raw)
		var err error
		if f, err = strconv.ParseFloat(strings.TrimSpace(s), 64); err != nil {
			b.fail(key, src, secret, raw, wantNumber, err)
			return
		}
	}
	if v.OverflowFloat(f) {
		b.fail(key, src, secret, raw, fmt.Sprintf("want a number that fits in %v", v.Type()), nil)
		return
	}
	v.SetFloat(f)
}

// intBase reads decimal unless the number says otherwise, so "010" is
// ten, not eight.
func intBase(s string) int {
	u := strings.TrimLeft(s, "+-")
	if len(u) > 1 && u[0] == '0' && strings.ContainsRune("xXoObB", rune(u[1])) {
		return 0
	}
	return 10
}

// parseBool takes what strconv.ParseBool takes, and yes/no/on/off, which
// INI files and shells use.
func parseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "yes", "on":
		return true, nil
	case "no", "off":
		return false, nil
	}
	return strconv.ParseBool(strings.TrimSpace(s))
}

// toText writes a scalar as text; ok is false for sections and lists.
func toText(raw any) (string, bool) {
	switch r := raw.(type) {
	case string:
		return r, true
	case bool:
		return strconv.FormatBool(r), true
	case time.Time:
		return r.Format(time.RFC3339Nano), true
	case []byte:
		return string(r), true
	case float32:
		return strconv.FormatFloat(float64(r), 'f', -1, 32), true
	}
	switch rv := reflect.ValueOf(raw); {
	case rv.CanInt():
		return strconv.FormatInt(rv.Int(), 10), true
	case rv.CanUint():
		return strconv.FormatUint(rv.Uint(), 10), true
	case rv.CanFloat():
		return strconv.FormatFloat(rv.Float(), 'f', -1, 64), true
	case rv.Kind() == reflect.String:
		return rv.String(), true
	}
	return "", false
}
