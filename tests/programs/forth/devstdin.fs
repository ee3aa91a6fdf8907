create buf 4096 allot

: cat-file  ( c-addr u -- )
    r/o open-file throw >r
    begin  buf 4096 r@ read-file throw  dup while
        buf swap type
    repeat drop
    r> close-file throw ;
s" /dev/stdin" cat-file
