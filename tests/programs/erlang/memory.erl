main(_) ->
    grow([]).

grow(Acc) ->
    grow([binary:copy(<<1>>, 16 bsl 20) | Acc]).
