while ischar(line = fgets(stdin))
  printf("%s", line);
end
