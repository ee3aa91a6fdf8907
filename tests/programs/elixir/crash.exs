defmodule Calc do
  def divide(a, b), do: div(a, b)
end

IO.puts(Calc.divide(1, 0))
