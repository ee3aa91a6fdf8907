import scala.io.Source

object Echo {
  def main(args: Array[String]): Unit = {
    print(Source.stdin.mkString)
  }
}
