// Package chans holds the helpers every package here needs for waiting:
// channels that only ever close, as signals, and a short spin for a wait
// that another thread usually ends within microseconds.
//
// It owns nothing else and imports nothing of hostfx.
package chans
