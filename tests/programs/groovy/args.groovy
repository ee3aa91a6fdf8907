// The script's class is named after its file (args), which hides the script's args variable:
// this.args is the variable.
for (arg in this.args) {
    println arg
}
