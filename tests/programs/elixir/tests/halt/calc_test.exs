defmodule CalcTest do
  use ExUnit.Case

  test "adds one" do
    assert Calc.add(1, 2) == 3
  end

  test "adds two" do
    assert Calc.add(2, 2) == 4
  end

  test "adds three" do
    assert Calc.add(3, 2) == 5
  end
end
