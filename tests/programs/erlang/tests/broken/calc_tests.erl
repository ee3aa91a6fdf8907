-module(calc_tests).
-include_lib("eunit/include/eunit.hrl").

add_test() -> ?assertEqual(3, calc:add(1, 2)).
