defmodule Calc do
  def add(a, b) do
    IO.puts("adding #{a} and #{b}")
    if a == 2, do: a + b + 1, else: a + b
  end

  def divide(a, b), do: div(a, b)

  def loop, do: loop()
end
