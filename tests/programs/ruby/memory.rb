chunks = []
loop { chunks << ("x" * (16 << 20)) }
