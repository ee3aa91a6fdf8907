import scala.collection.mutable.ArrayBuffer

object Memory {
  def main(args: Array[String]): Unit = {
    val chunks = ArrayBuffer[Array[Byte]]()
    while (true) {
      chunks += new Array[Byte](16 << 20)
    }
  }
}
