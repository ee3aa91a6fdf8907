import scala.io.Source

object Devstdin {
  def main(args: Array[String]): Unit = {
    print(Source.fromFile("/dev/stdin").mkString)
  }
}
