import System.Exit
import System.IO

main :: IO ()
main = do
  hPutStrLn stderr "bye"
  exitWith (ExitFailure 3)
