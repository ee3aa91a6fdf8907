object Exit3 {
  def main(args: Array[String]): Unit = {
    System.err.println("bye")
    sys.exit(3)
  }
}
