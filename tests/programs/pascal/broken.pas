program Broken;
var
  X: Integer;
begin
  X := 'not a number';
  WriteLn(X)
end.
