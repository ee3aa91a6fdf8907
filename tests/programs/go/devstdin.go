package main

import (
	"os"
)

func main() {
	data, err := os.ReadFile("/dev/stdin")
	if err != nil {
		os.Exit(1)
	}
	os.Stdout.Write(data)
}
