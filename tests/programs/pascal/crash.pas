{ An exception nobody catches: the RTL prints it and exits nonzero. }
program Crash;
{$mode objfpc}{$H+}
uses
  SysUtils;
begin
  raise Exception.Create('something went wrong');
end.
