--  An exception nobody handles: the runtime reports it and exits nonzero.
procedure Crash is
begin
   raise Constraint_Error with "something went wrong";
end Crash;
