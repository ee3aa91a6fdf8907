local function first(t)
  return t[1]
end

print(first(nil))
