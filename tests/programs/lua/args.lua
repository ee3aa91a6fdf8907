for _, a in ipairs(arg) do
  print(a)
end
