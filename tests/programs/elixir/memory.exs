# 64 MiB binaries, written (zeroed) and kept, until the box's limit stops it.
Stream.iterate([], fn acc -> [<<0::size(64 * 1024 * 1024 * 8), length(acc)>> | acc] end)
|> Stream.run()
