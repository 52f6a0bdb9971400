// Command fxhello is the baseline of binsize: a plain fx program with a zap
// logger and one invoke, as small as an fx + zap program gets.
package main

import (
	"go.uber.org/fx"
	"go.uber.org/fx/fxevent"
	"go.uber.org/zap"
)

func main() {
	fx.New(
		fx.Provide(zap.NewProduction),
		fx.WithLogger(func(log *zap.Logger) fxevent.Logger { return &fxevent.ZapLogger{Logger: log} }),
		fx.Invoke(func(log *zap.Logger) { log.Info("hello") }),
	).Run()
}
