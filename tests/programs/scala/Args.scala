object Args {
  def main(args: Array[String]): Unit = {
    args.foreach(println)
  }
}
