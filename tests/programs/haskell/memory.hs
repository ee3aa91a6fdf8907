-- Keeps allocating 16 MiB strict ByteStrings (filled, so touched), holding on to every one.
import Control.Exception (evaluate)
import Control.Monad (forever)
import qualified Data.ByteString as B
import Data.IORef

main :: IO ()
main = do
  ref <- newIORef []
  forever $ do
    b <- evaluate (B.replicate (16 * 1024 * 1024) 1)
    modifyIORef' ref (b :)
