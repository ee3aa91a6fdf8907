function divide(a, b) { return a / b }
BEGIN { print divide(1, 0) }
