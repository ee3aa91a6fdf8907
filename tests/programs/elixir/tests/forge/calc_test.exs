defmodule CalcTest do
  use ExUnit.Case

  test "adds" do
    assert Calc.add(1, 2) == 3
  end

  test "adds zero" do
    assert Calc.add(2, 0) == 2
  end
end
