program Spin;
var
  N: QWord;
begin
  N := 0;
  while True do
    Inc(N);
end.
