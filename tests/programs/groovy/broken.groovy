def greet(name) {
    println("Hello, " + name
}
greet("World")
