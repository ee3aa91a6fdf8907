with Ada.Command_Line;
with Ada.Text_IO; use Ada.Text_IO;

procedure Exit3 is
begin
   Put_Line (Standard_Error, "bye");
   Ada.Command_Line.Set_Exit_Status (3);
end Exit3;
