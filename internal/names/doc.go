// Package names compares the names of enumerations in configuration files,
// where people spell SEPARATE_THREAD as separate-thread or separateThread.
//
// It owns nothing else and imports nothing of hostfx.
package names
