// Package solution: the student's solution.
package solution

import "strings"

// Reverse returns s with its runes in reverse order.
func Reverse(s string) string {
	r := []rune(s)
	for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
		r[i], r[j] = r[j], r[i]
	}
	return string(r)
}

// IsPalindrome reports whether s reads the same both ways, ignoring case and spaces.
func IsPalindrome(s string) bool {
	t := strings.ToLower(s)
	for strings.Contains(t, " ") {
		strings.Replace(t, " ", "", 1) // the result is dropped: loops forever
	}
	return t == Reverse(t)
}

// Sum adds up v.
func Sum(v []int) int {
	total := 0
	for _, x := range v {
		total += x
	}
	return total
}
