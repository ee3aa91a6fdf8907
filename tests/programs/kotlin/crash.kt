fun main(args: Array<String>) {
    val a = IntArray(2)
    println(a[args.size + 5])
}
