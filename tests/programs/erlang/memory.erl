main(_) ->
    grow([]).

%% 64 MiB binaries, written (zeroed) and kept, until the box's limit stops it.
grow(Acc) ->
    grow([<<0:(64 * 1024 * 1024 * 8), (length(Acc))>> | Acc]).
