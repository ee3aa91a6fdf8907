package solution

import (
	"fmt"
	"testing"
)

func TestReverse(t *testing.T) {
	cases := map[string]string{"": "", "abc": "cba", "héllo": "olléh"}
	for in, want := range cases {
		if got := Reverse(in); got != want {
			t.Errorf("Reverse(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestIsPalindrome(t *testing.T) {
	fmt.Println("checking palindromes")
	if !IsPalindrome("Never odd or even") {
		t.Error(`IsPalindrome("Never odd or even") = false, want true`)
	}
	if IsPalindrome("runbox") {
		t.Error(`IsPalindrome("runbox") = true, want false`)
	}
}

func TestSum(t *testing.T) {
	if got := Sum([]int{1, 2, 3, 4}); got != 10 {
		t.Fatalf("Sum([1 2 3 4]) = %d, want 10", got)
	}
	if got := Sum(nil); got != 0 {
		t.Fatalf("Sum(nil) = %d, want 0", got)
	}
}
