: show-args  ( -- )
    argc @ 1 ?do  i arg type cr  loop ;
show-args
