chunks = {};
while true
  chunks{end + 1} = ones(2 * 1024 * 1024, 1);
end
