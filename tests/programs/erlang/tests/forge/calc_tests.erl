-module(calc_tests).
-include_lib("eunit/include/eunit.hrl").

add_test() -> ?assertEqual(3, calc:add(1, 2)).

add_zero_test() -> ?assertEqual(2, calc:add(2, 0)).
