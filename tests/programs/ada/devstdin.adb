--  Reads /dev/stdin as a named file.
with Ada.Text_IO; use Ada.Text_IO;

procedure Devstdin is
   F : File_Type;
begin
   Open (F, In_File, "/dev/stdin");
   while not End_Of_File (F) loop
      Put_Line (Get_Line (F));
   end loop;
   Close (F);
end Devstdin;
