program Exit3;
begin
  WriteLn(StdErr, 'bye');
  Halt(3);
end.
