: spin  ( -- )  begin again ;
spin
