--  Keeps allocating 16 MiB blocks and touching them, never freeing any.
procedure Memory is
   type Block is array (1 .. 16 * 2**20) of Character;
   type Block_Access is access Block;
   P : Block_Access;
begin
   loop
      P := new Block;
      for I in P'Range loop
         P (I) := 'x';
      end loop;
   end loop;
end Memory;
