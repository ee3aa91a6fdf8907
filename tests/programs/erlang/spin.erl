main(_) ->
    spin(0).

spin(N) -> spin(N + 1).
