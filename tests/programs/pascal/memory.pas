{ Keeps allocating 16 MiB blocks and touching them, never freeing any. }
program Memory;
const
  Size = 16 * 1024 * 1024;
var
  P: Pointer;
begin
  while True do
  begin
    GetMem(P, Size);
    FillChar(P^, Size, 1);
  end;
end.
