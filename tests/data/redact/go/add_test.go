package solution

import "testing"

func TestAddSmall(t *testing.T) {
	if got := Add(2, 3); got != 5 {
		t.Errorf("Add(2, 3) = %d, want 5", got)
	}
}

func TestAddZero(t *testing.T) {
	t.Fatal("zero fails")
}
