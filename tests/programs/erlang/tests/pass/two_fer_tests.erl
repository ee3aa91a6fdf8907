%% exercism's Erlang track style: the erl_exercism include, generators named '1_..._test_'
%% returning {"description", ?_assert...}: the description names the test.
-module(two_fer_tests).

-include_lib("erl_exercism/include/exercism.hrl").
-include_lib("eunit/include/eunit.hrl").

-define(assertStringEqual(Expect, Expr),
        ?assertEqual(unicode:characters_to_list(Expect), unicode:characters_to_list(Expr))).
-define(_assertStringEqual(Expect, Expr), ?_test(?assertStringEqual(Expect, Expr))).

'1_no_name_given_test_'() ->
    {"no name given", ?_assertStringEqual("One for you, one for me.", two_fer:two_fer())}.

'2_a_name_given_test_'() ->
    {"a name given", ?_assertStringEqual("One for Alice, one for me.", two_fer:two_fer("Alice"))}.

'3_another_name_given_test_'() ->
    {"another name given", ?_assertStringEqual("One for Bob, one for me.", two_fer:two_fer("Bob"))}.
