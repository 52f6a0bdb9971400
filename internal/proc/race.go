//go:build race

package proc

// raceBuild says this binary, and so its children, run the race detector.
const raceBuild = true
