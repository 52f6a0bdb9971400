package ini_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/hostfx/hostfx/modules/config"
	"github.com/hostfx/hostfx/modules/config/ini"
)

func ExampleFormat() {
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer func() { _ = os.RemoveAll(dir) }()
	body := "[server]\nhost = example.org\nport = 8080\n"
	if err := os.WriteFile(filepath.Join(dir, "config.ini"), []byte(body), 0o600); err != nil {
		fmt.Println(err)
		return
	}

	c, err := config.New(
		config.Formats(ini.Format()),
		config.Dir(dir),
		config.File("config.ini"),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	type Server struct {
		Host string
		Port int
	}
	s, err := config.Bind[Server](c, "server")
	if err != nil {
		fmt.Println(err)
		return
	}
	port, _ := c.Lookup("server.port")
	fmt.Println(s.Host, s.Port, "from", filepath.Base(port.Source))
	// Output: example.org 8080 from config.ini:3
}
