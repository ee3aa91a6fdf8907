--  Copies standard input line by line.
with Ada.Text_IO; use Ada.Text_IO;

procedure Echo is
begin
   while not End_Of_File loop
      Put_Line (Get_Line);
   end loop;
end Echo;
