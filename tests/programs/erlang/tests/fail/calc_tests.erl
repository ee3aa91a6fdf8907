%% Plain EUnit: *_test functions, a generator of several tests, a fixture; one test of each
%% outcome (pass, a failed assertion, an exception, a test that never ends) and the tests after
%% a hung one still run.
-module(calc_tests).
-include_lib("eunit/include/eunit.hrl").

add_small_test() ->
    ?assertEqual(3, calc:add(1, 2)).

add_two_test() ->
    ?assertEqual(4, calc:add(2, 2)).

divide_test() ->
    ?assertEqual(0, calc:divide(1, 0)).

loop_test() ->
    calc:loop().

many_test_() ->
    [?_assert(calc:add(0, 0) =:= 0),
     {"five", ?_assertMatch(5, calc:add(3, 2))},
     {setup, fun() -> 40 end, fun(X) -> [{"in a fixture", ?_assertEqual(42, calc:add(X, 2))}] end}].

after_test() ->
    ?assertNot(false).
