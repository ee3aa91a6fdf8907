with Ada.Text_IO;

procedure Broken is
   X : Integer := "not a number";
begin
   Ada.Text_IO.Put_Line (Integer'Image (X));
end Broken;
