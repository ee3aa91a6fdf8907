object Crash {
  def main(args: Array[String]): Unit = {
    val a = new Array[Int](2)
    println(a(args.length + 5))
  }
}
