{ Reads /dev/stdin as a named text file. }
program DevStdin;
{$mode objfpc}{$H+}
var
  F: TextFile;
  S: string;
begin
  AssignFile(F, '/dev/stdin');
  Reset(F);
  while not Eof(F) do
  begin
    ReadLn(F, S);
    WriteLn(S);
  end;
  CloseFile(F);
end.
