IO.puts(:stderr, "bye")
System.halt(3)
