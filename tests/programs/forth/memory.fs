16 1024 * 1024 * constant chunk

: grow  ( -- )
    begin  chunk allocate throw  chunk 1 fill  again ;
grow
