-module(calc_tests).
-include_lib("eunit/include/eunit.hrl").

a_test() -> ?assertEqual(2, calc:add(0, 2)).

b_test() -> ?assertEqual(3, calc:add(1, 2)).
