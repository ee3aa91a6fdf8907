defmodule CalcTest do
  use ExUnit.Case

  test "a", do: assert(Calc.add(0, 2) == 2)

  test "b", do: assert(Calc.add(1, 2) == 3)
end
