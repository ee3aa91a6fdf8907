ExUnit.start()
ExUnit.configure(exclude: :pending, trace: true)
