package main

import "fmt"

func main() {
	var m map[string]int
	m["x"] = 1
	fmt.Println(m)
}
