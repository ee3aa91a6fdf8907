%% erl_exercism/include/exercism.hrl for runbox's EUnit runner. exercism's Erlang test files
%% include it (-include_lib("erl_exercism/include/exercism.hrl")) from the erl_exercism package,
%% which their rebar3 projects fetch; the test files of today define what they use themselves
%% (?assertStringEqual), so the include only has to be found. The compile step puts this file
%% where the include path finds it.
-ifndef(RUNBOX_EXERCISM_HRL).
-define(RUNBOX_EXERCISM_HRL, true).
-endif.
