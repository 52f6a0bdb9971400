// Package chans holds the two helpers every package here needs for
// channels that only ever close, as signals.
//
// It owns nothing else and imports nothing of hostfx.
package chans
