defmodule Broken do
  def greet(name), do: "Hello, " <> name <>
end
