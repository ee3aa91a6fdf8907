procedure Spin is
   type Counter is mod 2**64;
   N : Counter := 0 with Volatile;
begin
   loop
      N := N + 1;
   end loop;
end Spin;
