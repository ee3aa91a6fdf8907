add <- function(x, y) x + y
print(add(1, "two"))
