{ Copies standard input line by line; long strings (AnsiString) hold any line. }
program Echo;
{$mode objfpc}{$H+}
var
  S: string;
begin
  while not Eof do
  begin
    ReadLn(S);
    WriteLn(S);
  end;
end.
