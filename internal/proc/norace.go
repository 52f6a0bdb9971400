//go:build !race

package proc

const raceBuild = false
