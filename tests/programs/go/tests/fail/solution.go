// Package solution: the student's solution.
package solution

import "strings"

// Reverse returns s with its runes in reverse order.
func Reverse(s string) string {
	r := []byte(s) // bytes, not runes: breaks on "héllo"
	for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
		r[i], r[j] = r[j], r[i]
	}
	return string(r)
}

// IsPalindrome reports whether s reads the same both ways, ignoring case and spaces.
func IsPalindrome(s string) bool {
	t := strings.ToLower(strings.ReplaceAll(s, " ", ""))
	return t == Reverse(t)
}

// Sum adds up v.
func Sum(v []int) int {
	total := 0
	for i := 0; i < len(v)-1; i++ { // misses the last one
		total += v[i]
	}
	return total
}
