: divide  ( a b -- q )  / ;
1 0 divide .
