-- Reads /dev/stdin as a named file.
main :: IO ()
main = readFile "/dev/stdin" >>= putStr
