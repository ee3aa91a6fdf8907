%% runbox's EUnit runner:
%%   erl -noshell -pz /box/.runbox/ebin -run runbox_eunit main -extra TEST_FILE.erl...
%%
%% Theory of operation. Each test file is a module (two_fer_tests.erl: two_fer_tests) whose
%% exported *_test/0 functions are tests and *_test_/0 functions are generators, as EUnit runs
%% them. Before anything runs, the runner expands that representation itself: it calls the
%% generators that stand outside any fixture (setup, foreach, node), and gives every test it
%% finds a unique name (its description, exercism's convention: {"a name given", ?_assert...},
%% else its function, else "function:line") and a time budget, {timeout, Secs, {Name, Test}}:
%% EUnit's own default is 5 s for every test whatever the run's limits. Tests made inside a
%% fixture are named and budgeted the same way when the fixture makes them. A test that an
%% author already put under a {timeout, ...} keeps that timeout.
%%
%% The results go to runbox as runbox-jsonl events, one flushed line each, on the report channel
%% (the fd RUNBOX_REPORT_FD names, a pipe runbox reads; else $RUNBOX_DIR/report.jsonl), opened
%% first, before any test code runs, and written by a listener process of ours (an
%% eunit_listener):
%%
%%   {"event": "plan", "count": 3, "names": ["say_you_test", ...]}
%%   {"event": "start", "name": "say_you_test"}
%%   {"event": "end", "name": "say_you_test", "status": "pass"|"fail"|"error"|"skip",
%%    "message": "...", "output": "...", "test_code": "..."}
%%   {"event": "done", "code": 0}
%%
%% Nothing the tests print to stdout counts. A failed assertion (error:{assert..., Info}, the
%% eunit.hrl and exercism macros) is "fail", any other exception, a timeout or a test process
%% that died is "error". "done" comes last, once EUnit has finished: a run that halts early
%% (halt/1 in the student's code) has none, and runbox does not call it a success. EUnit's own
%% verbose report goes to stdout for people. Exit status: 0 when every test passed, 1 otherwise.
-module(runbox_eunit).

-behaviour(eunit_listener).

-export([main/0]).
-export([start/1, init/1, handle_begin/3, handle_end/3, handle_cancel/3, terminate/2]).

-define(TEXT_MAX, 16384). % what runbox keeps of one string (REPORT_TEXT_MAX)
-define(NAMES, runbox_eunit_names). % ets: names given so far, and the test files' sources

%%% The run

main() ->
    persistent_term:put({?MODULE, channel}, open_channel()), % before any test code runs
    Files = [F || F <- init:get_plain_arguments(), filename:extension(F) =:= ".erl"],
    Mods = [list_to_atom(filename:basename(F, ".erl")) || F <- Files],
    ets:new(?NAMES, [named_table, public, set]),
    ets:insert(?NAMES, [{started, 0}, {handled, 0}]),
    [ets:insert(?NAMES, {{file, M}, F}) || {M, F} <- lists:zip(Mods, Files)],
    persistent_term:put({?MODULE, prefix}, length(Mods) > 1),
    Expanded = register([expand_module(M) || M <- Mods]),
    Names = leaf_names(Expanded),
    persistent_term:put({?MODULE, budget}, budget(length(Names))),
    Tests = finish(Expanded),
    Result = eunit:test(Tests, [verbose, {print_depth, 30},
                                {report, {?MODULE, [{plan, Names}]}}]),
    halt(case Result of ok -> 0; _ -> 1 end).

%% Seconds per test: RUNBOX_TEST_BUDGET_MS, else max(1 s, RUNBOX_WALL_MS / tests), else
%% EUnit's 5 s.
budget(Count) ->
    case {env_int("RUNBOX_TEST_BUDGET_MS"), env_int("RUNBOX_WALL_MS")} of
        {B, _} when B > 0 -> B / 1000;
        {_, W} when W > 0, Count > 0 -> max(1000, W div Count) / 1000;
        _ -> 5
    end.

env_int(Name) ->
    try list_to_integer(os:getenv(Name, "0")) catch error:badarg -> 0 end.

%%% Expanding the tests
%%
%% expand/3 turns a test representation into the same structure with every test it can see
%% replaced by {runbox_leaf, Name, Test, Budgeted, {Module, Function}}; register/1 makes the
%% names unique, in order; finish/1 then turns the leaves into {timeout, Budget, {Name, Test}}.
%% Eager: outside any fixture, so generators are called now (once: EUnit gets their result).
%% Inside a fixture they run when EUnit gets there, and what they make is expanded then
%% (lazy/1).

expand_module(M) ->
    case code:ensure_loaded(M) of
        {module, M} ->
            Exports = M:module_info(exports),
            [expand_fun(M, F, Kind) || {F, 0} <- Exports, Kind <- [kind(F)], Kind =/= none];
        _ ->
            M % EUnit reports the missing module
    end.

kind(F) ->
    S = atom_to_list(F),
    case {lists:suffix("_test", S), lists:suffix("_test_", S)} of
        {true, _} -> test;
        {_, true} -> generator;
        _ -> none
    end.

expand_fun(M, F, test) ->
    leaf(name(M, atom_to_list(F)), {test, M, F}, M, F, true);
expand_fun(M, F, generator) ->
    generate(fun M:F/0, {M, F}).

%% A generator's tests, expanded. One that fails is one errored test named after its function
%% (EUnit itself would abort the whole run).
generate(G, {M, F} = Ctx) ->
    try G() of
        Ts -> expand(Ts, Ctx, eager)
    catch
        Class:Reason:Stack ->
            leaf(name(M, atom_to_list(F)), fun() -> erlang:raise(Class, Reason, Stack) end,
                 M, F, true)
    end.

%% @Ctx: {Module, Function} the tests come from.
expand({runbox_leaf, _, _, _, _} = L, _Ctx, _Mode) ->
    L;
expand(T, Ctx, Mode) when is_list(T) ->
    case io_lib:printable_unicode_list(T) andalso T =/= [] of
        true -> T; % a string here is a file or directory name: EUnit's business
        false -> [expand(X, Ctx, Mode) || X <- T]
    end;
expand(F, {M, G} = Ctx, _Mode) when is_function(F, 0) ->
    leaf(auto_name(Ctx, 0), F, M, G, true);
expand({L, F} = T, {M, G} = Ctx, _Mode) when is_integer(L), is_function(F, 0) ->
    leaf(auto_name(Ctx, L), T, M, G, true);
expand({{_, _, _}, F} = T, {M, G} = Ctx, _Mode) when is_function(F, 0) ->
    leaf(auto_name(Ctx, 0), T, M, G, true);
expand({test, M, F} = T, _Ctx, _Mode) when is_atom(M), is_atom(F) ->
    leaf(name(M, atom_to_list(F)), T, M, F, true);
expand({generator, F}, Ctx, eager) when is_function(F, 0) ->
    generate(F, Ctx);
expand({generator, F}, Ctx, lazy) when is_function(F, 0) ->
    {generator, fun() -> lazy(F(), Ctx) end};
expand({generator, M, F}, _Ctx, eager) when is_atom(M), is_atom(F) ->
    expand_fun(M, F, generator);
expand({generator, M, F}, _Ctx, lazy) when is_atom(M), is_atom(F) ->
    {generator, fun() -> lazy(M:F(), {M, F}) end};
expand({module, M}, _Ctx, eager) when is_atom(M) ->
    expand_module(M);
expand({inorder, T}, Ctx, Mode) ->
    {inorder, expand(T, Ctx, Mode)};
expand({inparallel, T}, Ctx, Mode) ->
    {inparallel, expand(T, Ctx, Mode)};
expand({inparallel, N, T}, Ctx, Mode) when is_integer(N) ->
    {inparallel, N, expand(T, Ctx, Mode)};
expand({spawn, T}, Ctx, Mode) ->
    {spawn, expand(T, Ctx, Mode)};
expand({spawn, N, T}, Ctx, Mode) when is_atom(N) ->
    {spawn, N, expand(T, Ctx, Mode)};
expand({timeout, N, T}, Ctx, Mode) when is_number(N) ->
    {timeout, N, unbudgeted(expand(T, Ctx, Mode))}; % the author's timeout stands
expand({setup, _, _} = T, Ctx, _Mode) ->
    fixture(T, Ctx);
expand({setup, _, _, _} = T, Ctx, _Mode) ->
    fixture(T, Ctx);
expand({setup, _, _, _, _} = T, Ctx, _Mode) ->
    fixture(T, Ctx);
expand({foreach, _, _} = T, Ctx, _Mode) ->
    foreach(T, Ctx);
expand({foreach, _, _, _} = T, Ctx, _Mode) ->
    foreach(T, Ctx);
expand({foreach, _, _, _, _} = T, Ctx, _Mode) ->
    foreach(T, Ctx);
expand({node, N, T}, Ctx, _Mode) when is_atom(N) ->
    {node, N, expand(T, Ctx, lazy)};
expand({node, N, A, T}, Ctx, _Mode) when is_atom(N) ->
    {node, N, A, expand(T, Ctx, lazy)};
expand({Desc, T}, {M, _} = Ctx, Mode) when is_list(Desc); is_binary(Desc) ->
    case expand(T, Ctx, Mode) of
        {runbox_leaf, _, Test, B, Code} -> % the description names this one test
            {runbox_leaf, name(M, unicode:characters_to_list(Desc)), Test, B, Code};
        Group ->
            {Desc, Group}
    end;
expand({M, F} = T, _Ctx, _Mode) when is_atom(M), is_atom(F), M =/= module, M =/= application,
                                     M =/= inorder, M =/= inparallel, M =/= spawn ->
    leaf(name(M, atom_to_list(F)), T, M, F, true);
expand(T, _Ctx, _Mode) ->
    T. % foreachx, with, application, file, dir, modules by name: EUnit's names, 5 s

%% The last element of a setup is an instantiator (fun/1) or tests, run in its context. The
%% fixture is described "function (setup)": a setup that fails is reported under that name.
fixture(T, Ctx) ->
    I = element(size(T), T),
    described(setelement(size(T), T, instantiator(I, Ctx)), Ctx).

foreach(T, Ctx) ->
    Is = element(size(T), T),
    case is_list(Is) of
        true -> described(setelement(size(T), T, [instantiator(I, Ctx) || I <- Is]), Ctx);
        false -> T
    end.

described(T, {M, F}) ->
    {unicode:characters_to_binary(name(M, atom_to_list(F) ++ " (setup)")), T}.

instantiator(I, Ctx) when is_function(I, 1) ->
    fun(X) -> lazy(I(X), Ctx) end;
instantiator({with, _} = W, _Ctx) ->
    W;
instantiator(Ts, Ctx) ->
    expand(Ts, Ctx, lazy).

lazy(Ts, Ctx) ->
    finish(register(expand(Ts, Ctx, lazy))).

unbudgeted({runbox_leaf, N, T, _, C}) -> {runbox_leaf, N, T, false, C};
unbudgeted(L) when is_list(L) -> [unbudgeted(X) || X <- L];
unbudgeted(T) when is_tuple(T), size(T) > 1 ->
    list_to_tuple([unbudgeted(X) || X <- tuple_to_list(T)]);
unbudgeted(T) -> T.

%% A test named @Name; its code is function F of module M.
leaf(Name, Test, M, F, Budgeted) ->
    {runbox_leaf, Name, Test, Budgeted, {M, F}}.

%% Every leaf's name made unique ("name (2)" for a second one), in the order they run.
register({runbox_leaf, Name, Test, B, Code}) ->
    Unique = unique(Name, 1),
    ets:insert(?NAMES, {{code, Unique}, Code}),
    {runbox_leaf, Unique, Test, B, Code};
register(L) when is_list(L) -> [register(X) || X <- L];
register(T) when is_tuple(T), size(T) > 1 -> list_to_tuple(register(tuple_to_list(T)));
register(T) -> T.

unique(Name, N) ->
    Try = case N of 1 -> Name; _ -> io_lib:format("~ts (~w)", [Name, N]) end,
    Bin = unicode:characters_to_binary(Try),
    case ets:insert_new(?NAMES, {{name, Bin}}) of
        true -> Bin;
        false -> unique(Name, N + 1)
    end.

name(M, S) ->
    case persistent_term:get({?MODULE, prefix}, false) of
        true -> atom_to_list(M) ++ ":" ++ S;
        _ -> S
    end.

auto_name({M, G}, 0) -> name(M, atom_to_list(G));
auto_name({M, G}, L) -> name(M, io_lib:format("~ts:~w", [G, L])).

%% @Test as a test that first waits (up to 1 s) until the listener has written the events of
%% every test before it and its own "start". EUnit tells listeners of a test's begin and end
%% by messages, asynchronously: without the wait, a test that halts the VM would take the end
%% events of the tests before it along.
synced(Test, {M, F}) ->
    {{M, F, 0}, fun() -> wait_listener(ets:update_counter(?NAMES, started, 1), 1000), run(Test) end}.

wait_listener(N, Left) ->
    case ets:lookup_element(?NAMES, handled, 2) >= 2 * N - 1 orelse Left =< 0 of
        true -> ok;
        false -> receive after 1 -> wait_listener(N, Left - 1) end
    end.

run(F) when is_function(F, 0) -> F();
run({L, F}) when is_integer(L) -> F();
run({{_, _, _}, F}) -> F();
run({test, M, F}) -> M:F();
run({M, F}) -> M:F().

leaf_names(T) ->
    lists:reverse(leaf_names(T, [])).

leaf_names({runbox_leaf, N, _, _, _}, Acc) -> [N | Acc];
leaf_names(L, Acc) when is_list(L) -> lists:foldl(fun leaf_names/2, Acc, L);
leaf_names(T, Acc) when is_tuple(T) -> leaf_names(tuple_to_list(T), Acc);
leaf_names(_, Acc) -> Acc.

finish({runbox_leaf, Name, Test, true, Code}) ->
    %% In a process of its own: a timeout kills the process that runs the test, and without
    %% one that is the process of its whole group (the rest of the module would not run).
    {spawn, {timeout, persistent_term:get({?MODULE, budget}), {Name, synced(Test, Code)}}};
finish({runbox_leaf, Name, Test, false, Code}) ->
    {Name, synced(Test, Code)};
finish(L) when is_list(L) -> [finish(X) || X <- L];
finish(T) when is_tuple(T), size(T) > 1 -> list_to_tuple([finish(X) || X <- tuple_to_list(T)]);
finish(T) -> T.

%%% The listener: runbox-jsonl on the channel

-record(st, {out, budget}).

start(Options) ->
    eunit_listener:start(?MODULE, Options).

init(Options) ->
    St = #st{out = persistent_term:get({?MODULE, channel}, undefined),
             budget = persistent_term:get({?MODULE, budget}, 5)},
    Names = proplists:get_value(plan, Options, []),
    emit(St, [{event, <<"plan">>}, {count, length(Names)}, {names, Names}]),
    receive {start, _Reference} -> St end.

open_channel() ->
    Path = case os:getenv("RUNBOX_REPORT_FD") of
               false ->
                   filename:join(os:getenv("RUNBOX_DIR", "/box/.runbox"), "report.jsonl");
               Fd ->
                   "/proc/self/fd/" ++ Fd
           end,
    %% Not raw: the io server it starts takes writes from the listener too.
    case file:open(Path, [write, binary]) of
        {ok, F} -> F;
        _ -> undefined
    end.

handle_begin(test, Data, St) ->
    emit(St, [{event, <<"start">>}, {name, test_name(Data)}]),
    ets:update_counter(?NAMES, handled, 1),
    St;
handle_begin(group, _Data, St) ->
    St.

handle_end(test, Data, St) ->
    {Status, Message} = outcome(proplists:get_value(status, Data)),
    end_event(St, Data, Status, Message),
    St;
handle_end(group, _Data, St) ->
    St.

handle_cancel(test, Data, St) ->
    Message = case proplists:get_value(reason, Data) of
                  timeout -> timed_out(St);
                  {timeout, #{stacktrace := Stack}} ->
                      Frames = [F || {M, _, _, _} = F <- Stack, not internal(M)],
                      unicode:characters_to_binary(
                        [timed_out(St), "\n", eunit_lib:format_stacktrace(Frames)]);
                  {timeout, _} -> timed_out(St);
                  undefined -> <<"did not run: cancelled">>;
                  {exit, R} -> fmt("the test process ended: ~tP", [R, 30]);
                  {blame, _} -> <<"cancelled because a test it started failed">>;
                  {abort, R} -> fmt("aborted: ~ts", [eunit_lib:format_error(R, 30)]);
                  R -> fmt("cancelled: ~tP", [R, 30])
              end,
    end_event(St, Data, <<"error">>, Message),
    St;
handle_cancel(group, Data, St) ->
    %% A fixture's setup failed: its tests do not run. Report it as one errored test.
    case proplists:get_value(reason, Data) of
        undefined -> ok;
        {blame, _} -> ok;
        Reason ->
            Name = unique(group_name(Data), 1),
            emit(St, [{event, <<"start">>}, {name, Name}]),
            emit(St, [{event, <<"end">>}, {name, Name}, {status, <<"error">>},
                      {message, group_failure(Reason)}])
    end,
    St.

terminate({ok, Data}, St) ->
    Bad = proplists:get_value(fail, Data, 0) + proplists:get_value(cancel, Data, 0),
    emit(St, [{event, <<"done">>}, {code, case Bad of 0 -> 0; _ -> 1 end}]);
terminate({error, Reason}, St) ->
    io:format(standard_error, "runbox_eunit: ~tp~n", [Reason]),
    emit(St, [{event, <<"done">>}, {code, 1}]).

group_failure({abort, {What, {Class, Reason, Stack}}}) when is_atom(What), is_list(Stack) ->
    Why = case What of
              setup_failed -> "its setup failed";
              cleanup_failed -> "its cleanup failed";
              instantiation_failed -> "making its tests failed";
              generator_failed -> "its generator failed";
              _ -> atom_to_list(What)
          end,
    unicode:characters_to_binary([Why, ", its tests did not run:\n",
                                  exception(Class, Reason, Stack)]);
group_failure(Reason) ->
    fmt("the tests of this group did not run: ~tP", [Reason, 30]).

timed_out(#st{budget = B}) when B == trunc(B) ->
    fmt("timed out after ~w s", [trunc(B)]);
timed_out(#st{budget = B}) ->
    fmt("timed out after ~ts s", [float_to_list(float(B), [{decimals, 3}, compact])]).

%% A test's captured output (what it printed, as io requests gave it) as UTF-8.
text(Chars) ->
    try unicode:characters_to_binary(Chars) of
        B when is_binary(B) -> B;
        _ -> iolist_to_binary(Chars)
    catch
        error:_ -> <<>>
    end.

end_event(St, Data, Status, Message) ->
    Name = test_name(Data),
    emit(St, [{event, <<"end">>}, {name, Name}, {status, Status}, {message, Message},
              {output, text(proplists:get_value(output, Data, <<>>))},
              {test_code, test_code(Name, Data)}]),
    ets:update_counter(?NAMES, handled, 1).

outcome(ok) ->
    {<<"pass">>, <<>>};
outcome({error, {error, {Assert, Info}, Stack}}) when is_atom(Assert), is_list(Info) ->
    case lists:prefix("assert", atom_to_list(Assert)) of
        true -> {<<"fail">>, assertion(Assert, Info)};
        false -> {<<"error">>, exception(error, {Assert, Info}, Stack)}
    end;
outcome({error, {Class, Reason, Stack}}) ->
    {<<"error">>, exception(Class, Reason, Stack)};
outcome({skipped, {module_not_found, M}}) ->
    {<<"error">>, fmt("did not run: no module ~w", [M])};
outcome({skipped, {no_such_function, {M, F, A}}}) ->
    {<<"error">>, fmt("did not run: no function ~w:~tw/~w", [M, F, A])};
outcome(Other) ->
    {<<"error">>, fmt("~tP", [Other, 30])}.

%% ?assertEqual(...) failed: "assertEqual failed (line 12)" and one line per detail.
assertion(Assert, Info) ->
    Head = case proplists:get_value(line, Info) of
               undefined -> fmt("~ts failed", [Assert]);
               L -> fmt("~ts failed (line ~w)", [Assert, L])
           end,
    Details = [detail(K, V) || {K, V} <- Info, K =/= module, K =/= line],
    iolist_to_binary([Head | Details]).

detail(expression, V) -> fmt("~n  expression: ~ts", [V]);
detail(pattern, V) -> fmt("~n  pattern:    ~ts", [V]);
detail(K, V) -> fmt("~n  ~-11ts ~tP", [atom_to_list(K) ++ ":", V, 30]).

exception(Class, Reason, Stack) ->
    Frames = [F || {M, _, _, _} = F <- Stack, not internal(M)],
    unicode:characters_to_binary(erl_error:format_exception(Class, Reason, Frames)).

internal(M) ->
    lists:member(M, [eunit_test, eunit_proc, eunit_data, eunit_lib, eunit, init, ?MODULE]).

test_name(Data) ->
    case proplists:get_value(desc, Data) of
        D when D =/= undefined, D =/= "", D =/= <<>> ->
            unicode:characters_to_binary(D);
        _ -> % a test this runner did not name (foreachx, with, ...): source and line
            Where = case {proplists:get_value(source, Data), proplists:get_value(line, Data, 0)} of
                        {{M, F, _}, 0} -> name(M, parent(F));
                        {{M, F, _}, L} -> name(M, io_lib:format("~ts:~w", [parent(F), L]));
                        _ -> "test"
                    end,
            Key = {auto, proplists:get_value(id, Data, Where)},
            case ets:lookup(?NAMES, Key) of
                [{_, N}] -> N;
                [] -> N = unique(Where, 1), ets:insert(?NAMES, {Key, N}), N
            end
    end.

%% The function a fun was written in: '-with_test_/0-fun-1-' -> "with_test_".
parent(F) ->
    case atom_to_list(F) of
        "-" ++ Rest -> lists:takewhile(fun(C) -> C =/= $/ end, Rest);
        S -> S
    end.

group_name(Data) ->
    case proplists:get_value(desc, Data) of
        D when D =/= undefined, D =/= "", D =/= <<>> -> D;
        _ -> "setup"
    end.

%% The source of the function the test comes from, read back from the test file.
test_code(Name, Data) ->
    MF = case ets:lookup(?NAMES, {code, Name}) of
             [{_, X}] -> X;
             [] -> case proplists:get_value(source, Data) of
                       {M, F, _} -> {M, F};
                       _ -> none
                   end
         end,
    case MF of
        {Mod, Fun} ->
            case ets:lookup(?NAMES, {file, Mod}) of
                [{_, File}] -> function_text(File, Fun);
                [] -> <<>>
            end;
        none -> <<>>
    end.

function_text(File, Fun) ->
    Lines = case ets:lookup(?NAMES, {lines, File}) of
                [{_, Ls}] -> Ls;
                [] -> Ls = read_lines(File), ets:insert(?NAMES, {{lines, File}, Ls}), Ls
            end,
    Forms = case ets:lookup(?NAMES, {forms, File}) of
                [{_, Fs}] -> Fs;
                [] -> Fs = forms(File), ets:insert(?NAMES, {{forms, File}, Fs}), Fs
            end,
    case [{A, B} || {F, A, B} <- Forms, F =:= Fun] of
        [] -> <<>>;
        Ranges ->
            First = lists:min([A || {A, _} <- Ranges]),
            Last = lists:max([B || {_, B} <- Ranges]),
            iolist_to_binary(lists:join("\n", lists:sublist(Lines, First, Last - First + 1)))
    end.

read_lines(File) ->
    case file:read_file(File) of
        {ok, B} -> binary:split(B, [<<"\r\n">>, <<"\n">>], [global]);
        _ -> []
    end.

%% {Function, FirstLine, LastLine} of each top-level form that defines a function.
forms(File) ->
    case file:read_file(File) of
        {ok, B} ->
            case erl_scan:string(unicode:characters_to_list(B), 1) of
                {ok, Tokens, _} -> split_forms(Tokens, []);
                _ -> []
            end;
        _ -> []
    end.

split_forms([], Acc) ->
    lists:reverse(Acc);
split_forms(Tokens, Acc) ->
    {Form, Rest} = lists:splitwith(fun(T) -> element(1, T) =/= dot end, Tokens),
    Rest1 = case Rest of [_Dot | R] -> R; [] -> [] end,
    Acc1 = case Form of
               [{atom, A, F} | _] ->
                   Last = case Rest of [Dot | _] -> line(Dot); [] -> line(lists:last(Form)) end,
                   [{F, line(A), Last} | Acc];
               _ -> Acc
           end,
    split_forms(Rest1, Acc1).

line(T) when is_tuple(T) -> erl_anno:line(element(2, T));
line(A) -> erl_anno:line(A).

%%% runbox-jsonl

emit(#st{out = undefined}, _) ->
    ok;
emit(#st{out = Out}, Fields) ->
    Line = [${, lists:join($,, [[json(atom_to_binary(K)), $:, json(V)]
                                 || {K, V} <- Fields, keep(K, V)]), $}, $\n],
    _ = file:write(Out, Line),
    ok.

keep(_, <<>>) -> false;
keep(_, _) -> true.

json(N) when is_integer(N) ->
    integer_to_binary(N);
json(L) when is_list(L) ->
    [$[, lists:join($,, [json(X) || X <- L]), $]];
json(B) when is_binary(B) ->
    [$", escape(clean(B)), $"].

%% Valid UTF-8 (invalid bytes replaced), cut to what runbox keeps.
clean(B) when byte_size(B) > ?TEXT_MAX ->
    <<Head:?TEXT_MAX/binary, _/binary>> = B,
    <<(clean(Head))/binary, "\n[... cut ...]">>;
clean(B) ->
    case unicode:characters_to_binary(B) of
        Good when is_binary(Good) -> Good;
        {error, Good, <<_, Rest/binary>>} -> <<Good/binary, "\x{FFFD}"/utf8, (clean(Rest))/binary>>;
        {incomplete, Good, _} -> <<Good/binary, "\x{FFFD}"/utf8>>
    end.

escape(B) ->
    [esc(C) || <<C>> <= B].

esc($") -> <<"\\\"">>;
esc($\\) -> <<"\\\\">>;
esc($\n) -> <<"\\n">>;
esc($\t) -> <<"\\t">>;
esc(C) when C < 16#20 -> io_lib:format("\\u~4.16.0B", [C]);
esc(C) -> C.

fmt(Format, Args) ->
    unicode:characters_to_binary(io_lib:format(Format, Args)).
