defmodule Spin do
  def spin(n), do: spin(n + 1)
end

Spin.spin(0)
