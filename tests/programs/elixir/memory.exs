Stream.iterate([], fn acc -> [:binary.copy(<<1>>, 16 * 1024 * 1024) | acc] end)
|> Stream.run()
