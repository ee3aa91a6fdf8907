import kotlin.system.exitProcess

fun main() {
    System.err.println("bye")
    exitProcess(3)
}
