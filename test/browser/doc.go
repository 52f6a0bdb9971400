// Package browser tests what hostfx serves to browsers in a real headless
// Chromium: the ops module's status page.
//
// It is a module of its own, so that chromedp and the DevTools protocol's
// types stay out of the library's go.mod. The tests need Debian's
// chromium on PATH, which .ci/install-chromium installs; .ci/run calls it
// before the tests. Run them with
//
//	go test -race -artifacts ./...
//
// to keep the screenshots: -artifacts saves each test's artifact
// directory (testing.T.ArtifactDir) under -outputdir.
package browser
