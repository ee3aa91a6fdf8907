# One test of each outcome (pass, a failed assertion, an exception, a test that never ends,
# a skipped one) in a describe block too; the tests after a hung one still run.
defmodule CalcTest do
  use ExUnit.Case

  test "adds small numbers" do
    assert Calc.add(1, 2) == 3
  end

  test "adds two and two" do
    assert Calc.add(2, 2) == 4
  end

  test "divides by zero" do
    assert Calc.divide(1, 0) == 0
  end

  test "loops" do
    Calc.loop()
  end

  describe "zero" do
    test "adds nothing" do
      assert Calc.add(0, 0) == 0
    end

    @tag :skip
    test "is skipped" do
      flunk("never runs")
    end
  end
end
