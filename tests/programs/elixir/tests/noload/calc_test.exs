defmodule CalcTest do
  use ExUnit.Case

  test "adds" do
    assert Calc.add(1, 2) == 3
  end

  test "makes a struct" do
    assert %Calc{} != nil
  end
end
